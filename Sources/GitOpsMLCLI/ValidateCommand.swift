import ArgumentParser
import Config
import Foundation
import GitOpsMLCore

/// `gitops-ml validate`: parse gitops-ml.yaml and every policy, reporting the first problem at its line.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Check gitops-ml.yaml and policies/ for errors.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The revision to read the files from (default: the workspace).")
    var rev: String = "workspace"

    func run() throws {
        let project = try Project(global)
        let files = try project.files(project.repository.isBare && rev == "workspace" ? "HEAD" : rev)
        guard let configBytes = try files.read(ProjectConfig.fileName) else {
            throw GitOpsMLError.configuration("no \(ProjectConfig.fileName) at \(files.revision)")
        }
        let config = try ProjectConfig.parse(configBytes)
        let folder = config.checks.policies
        var policies: [Policy] = []
        for path in try project.repository.policyFiles(in: folder, at: files) {
            guard let bytes = try files.read(path) else { continue }
            policies += try Policy.parse(bytes, file: path)
        }
        print(
            "\(ProjectConfig.fileName): \(config.models.count) models, \(config.datasets.count) datasets, \(config.environments.count) environments"
        )
        for policy in policies {
            switch policy {
            case .gate(let gate): print("\(gate.location.file): GatePolicy \(gate.name), \(gate.gates.count) gates")
            case .data(let data):
                print("\(data.location.file): DataPolicy \(data.name), \(data.expectations.count) expectations")
            }
        }
    }
}
