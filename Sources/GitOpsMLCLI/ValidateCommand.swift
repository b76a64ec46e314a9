import ArgumentParser
import Check
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

    /// The same loading and validation `check`, `generate` and `promote` use: what they would refuse at
    /// run time is refused here, at its file and line.
    func run() throws {
        let project = try Project(global)
        let files = try project.files(project.repository.isBare && rev == "workspace" ? "HEAD" : rev)
        // --config names the file validated (and summarised), with the policies it points at.
        guard let rules = try RuleSet.load(files, source: rev, config: global.config == nil ? nil : project.config)
        else {
            throw GitOpsMLError.configuration("no \(ProjectConfig.fileName) at \(files.revision)")
        }
        let config = rules.config
        print(
            "\(global.config ?? ProjectConfig.fileName): \(config.models.count) models, \(config.datasets.count) datasets, \(config.environments.count) environments"
        )
        for policy in rules.policies {
            switch policy {
            case .gate(let gate): print("\(gate.location.file): GatePolicy \(gate.name), \(gate.gates.count) gates")
            case .data(let data):
                print("\(data.location.file): DataPolicy \(data.name), \(data.expectations.count) expectations")
            case .promotion(let promotion):
                print(
                    "\(promotion.location.file): PromotionPolicy \(promotion.name), environments \(promotion.environments.keys.sorted().joined(separator: ", "))"
                )
            case .deploy(let deploy):
                print("\(deploy.location.file): DeployPolicy \(deploy.name), \(deploy.rules.count) rules")
            }
        }
    }
}
