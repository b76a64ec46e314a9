import ArgumentParser
import Check
import Config
import Datasets
import Foundation
import GitOpsMLCore

/// `gitops-ml data profile|drift|validate|origin`: datasets read from any revision, through DVC and LFS pointers.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Profile datasets, test them against expectations, measure drift, and trace their versions.",
        subcommands: [Profile.self, Drift.self, Validate.self, Origin.self])

    /// A dataset by its name in gitops-ml.yaml or by path, optionally `@REV` (default: the workspace, or HEAD when bare).
    struct Target {
        var path: String
        var revision: String
        var options: Dataset.Options

        init(_ text: String, project: Project, defaultRevision: String? = nil) throws {
            let parts = text.split(separator: "@", maxSplits: 1).map(String.init)
            let name = parts[0]
            let dataset = project.config?.datasets[name]
            // A dataset's name, else a path as typed (relative to the current folder, as git and dvc take it).
            path = try dataset?.path ?? project.typedPath(name)
            revision =
                parts.count > 1 ? parts[1] : defaultRevision ?? (project.repository.isBare ? "HEAD" : "workspace")
            options = dataset.map(Dataset.Options.init) ?? Dataset.Options()
        }

        func load(_ project: Project) throws -> Dataset {
            let files = try project.files(revision)
            let stores = DataStores.of(
                gitDirectory: project.repository.gitDirectory, workTree: project.repository.workTree)
            guard let data = try DataResolver.dataset(path, in: files, stores: stores, options: options) else {
                throw GitOpsMLError.environment("\(path): no such file at \(revision)")
            }
            return data
        }
    }

    struct Profile: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "profile",
            abstract: "Per-column summary: type, nulls, unique values, range, mean, quantiles, top categories.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A dataset name from gitops-ml.yaml or a path, optionally @REV (e.g. train@HEAD~1).")
        var dataset: String
        @OptionGroup var output: OutputOptions<TextOrJSON>

        func run() throws {
            let project = try Project(global)
            let data = try Target(dataset, project: project).load(project)
            let profile = DataProfile.profile(data)
            if output.chosen == .json {
                print(profile.json(indent: 2))
                return
            }
            print("\(data.file): \(data.rowCount) rows, \(data.columns.count) columns")
            var rows: [[String]] = []
            guard case .array(let columns)? = profile["columns"] else { return }
            for column in columns {
                // A table cell shows at most 40 characters of a value (the JSON output has them whole).
                func cell(_ text: String) -> String { text.count > 40 ? text.prefix(39) + "…" : text }
                func text(_ key: String) -> String {
                    guard let value = column[key] else { return "" }
                    switch value {
                    case .string(let s): return cell(s)
                    case .null: return ""
                    case .double(let d): return String(format: "%.6g", d)
                    case .array(let items):
                        return items.prefix(3).compactMap { item in
                            guard case .string(let v)? = item["value"], let n = item["count"]?.number else {
                                return nil
                            }
                            return "\(cell(v)) (\(Int(n)))"
                        }.joined(separator: ", ")
                    default: return value.json()
                    }
                }
                rows.append([
                    text("name"), text("type"), text("nulls"), text("unique"), text("min"), text("mean"), text("p50"),
                    text("max"), text("top"),
                ])
            }
            print(
                Table.text(
                    header: ["column", "type", "nulls", "unique", "min", "mean", "median", "max", "top"], rows: rows))
        }
    }

    struct Drift: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "drift",
            abstract: "Drift of a dataset between two revisions (Evidently's tests and thresholds by default).",
            discussion: "Exits 1 on dataset drift (at least --drift-share of the judged columns drifted).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A dataset name from gitops-ml.yaml or a path.")
        var dataset: String
        @Option(name: .long, help: "The reference revision (default HEAD).")
        var base: String = "HEAD"
        @Option(name: .long, help: "The current revision (default: the workspace, or HEAD~0 when bare).")
        var head: String?
        @Option(name: .long, help: "One test for every column (default: Evidently's choice per column).")
        var test: DriftSettings.Test?
        @Option(name: .long, help: "The test's threshold (p-value or distance).")
        var threshold: Double?
        @Option(name: .long, help: "Dataset drift when this share of columns drift (default 0.5).")
        var driftShare: Double = 0.5
        @Flag(name: .long, help: "Benjamini–Hochberg correction of p-values across columns.")
        var benjaminiHochberg = false
        @OptionGroup var output: OutputOptions<TextOrJSON>

        func validate() throws {
            if let threshold, !(threshold.isFinite && threshold >= 0) {
                throw ValidationError("--threshold must be a finite number of at least 0")
            }
            guard driftShare.isFinite, (0...1).contains(driftShare) else {
                throw ValidationError("--drift-share must be a number from 0 to 1")
            }
        }

        func run() throws {
            let project = try Project(global)
            var settings = DriftSettings()
            settings.test = test
            settings.threshold = threshold
            settings.driftShare = driftShare
            settings.benjaminiHochberg = benjaminiHochberg
            let reference = try Target(dataset, project: project, defaultRevision: base).load(project)
            let current = try Target(dataset, project: project, defaultRevision: head).load(project)
            let report = try DriftDetector.detect(reference: reference, current: current, settings: settings)
            let findings = DriftFindings.findings(report, id: "data/\(dataset)", dataset: reference.file, base: base)
            if output.chosen == .json {
                print(
                    StructuredValue.array(findings.map { finding in CheckReport.json(finding) }).strictJSON.json(
                        indent: 2))
            } else {
                for finding in findings { print(finding.message) }
            }
            if report.datasetDrift {
                throw CheckFailure(lines: [
                    "dataset drift: \(report.driftedCount) of \(report.evaluated.count) columns drifted"
                ])
            }
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validate",
            abstract: "Run the expectations of the DataPolicies on their datasets at a revision.")
        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "The revision (default: the workspace, or HEAD when bare).")
        var rev: String?

        func run() throws {
            let project = try Project(global)
            let revision = rev ?? (project.repository.isBare ? "HEAD" : "workspace")
            let files = try project.files(revision)
            guard let rules = try RuleSet.load(files, source: revision) else {
                throw GitOpsMLError.configuration("no \(ProjectConfig.fileName) at \(revision)")
            }
            let (config, policies) = (rules.config, rules.policies)
            let context = CheckContext(
                config: config, policies: policies,
                head: CheckRevision(files: files, name: revision, commit: files.commit?.hex), base: nil,
                suites: [.data], workTree: project.repository.workTree,
                stores: DataStores.of(
                    gitDirectory: project.repository.gitDirectory, workTree: project.repository.workTree))
            let findings = try CheckRunner.run(context)
            print(
                CheckReport(
                    toolVersion: GitOpsMLVersion.current, base: nil, head: (revision, files.commit?.hex),
                    findings: findings
                ).text(color: Output.colorEnabled), terminator: "")
            if findings.verdict == .fail {
                throw CheckFailure(lines: ["\(findings.count(.fail) + findings.count(.error)) expectations failed"])
            }
        }
    }
}

extension DriftSettings.Test: ExpressibleByArgument {}
