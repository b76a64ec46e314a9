import GitOpsMLCLI

await CLI.main()
