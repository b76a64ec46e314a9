import GitOpsMLCLI

CLI.main()
