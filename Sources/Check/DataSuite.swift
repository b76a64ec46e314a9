import Config
import Datasets
import Dispatch
import Foundation
import GitOpsMLCore
import Statistics

/// The data suite: each DataPolicy's expectations on its dataset at the head, and drift of that dataset
/// from the base to the head.
enum DataSuite {
    static func run(_ context: CheckContext) throws -> [Finding] {
        var findings: [Finding] = []
        for policy in context.dataPolicies {
            let name = policy.dataset ?? ""
            guard let dataset = context.config.datasets[name] else {
                throw GitOpsMLError.configuration(
                    "unknown dataset \"\(name)\" (gitops-ml.yaml declares: \(context.config.datasets.keys.sorted().joined(separator: ", ")))",
                    at: policy.location)
            }
            let settings = policy.drift ?? DriftSettings()
            let id = "data/\(name)"
            // Only the columns the expectations read, unless drift (which judges every column) is checked.
            var options = Dataset.Options(dataset)
            if (policy.drift == nil && policy.reference == nil) || context.base == nil {
                options.columns = Expectations.columnsRead(by: policy.expectations)
            }
            let head: Dataset
            switch try load(dataset, options: options, at: context.head, stores: context.stores) {
            case .success(let data): head = data
            case .failure(let finding):
                findings.append(finding.with(id: id + "/read"))
                continue
            }
            // Expectations are independent reads of the columns: one per core, findings kept in order.
            let expectations = policy.expectations
            findings += Parallel.map(expectations.count) { index in
                let expectation = expectations[index]
                return evaluate(
                    expectation, on: head, id: "\(id)/\(index + 1)-\(expectation.name)")
            }
            guard policy.drift != nil || policy.reference != nil, let base = context.base else { continue }
            let reference: Dataset
            switch try load(dataset, options: options, at: base, stores: context.stores) {
            case .success(let data): reference = data
            case .failure(let finding):
                findings.append(
                    Finding(
                        id: "\(id)/drift", suite: .data, check: "drift", status: .skip,
                        message: "no drift reference: \(finding.message)"))
                continue
            }
            if let rules = policy.reference {
                findings += ReferenceComparison.findings(
                    rules, head: head, reference: reference, id: id, base: base.name)
            }
            guard policy.drift != nil else { continue }
            findings += DriftFindings.findings(
                try DriftDetector.detect(reference: reference, current: head, settings: settings), id: id,
                dataset: dataset.path, base: base.name)
        }
        return findings
    }

    enum Loaded {
        case success(Dataset)
        case failure(Finding)
    }

    /// The dataset at a revision; an absent file, an object not fetched here (`dvc pull`, `git lfs pull`)
    /// or malformed content is a finding. A repository or cache that cannot give an object it holds
    /// (corrupt, unreadable) is thrown: the check stops there, exit 3, rather than judging without it.
    static func load(
        _ dataset: ProjectConfig.Dataset, options: Dataset.Options, at revision: CheckRevision, stores: DataStores
    ) throws -> Loaded {
        func failure(_ message: String, _ location: SourceLocation?) -> Loaded {
            .failure(
                Finding(
                    id: "", suite: .data, check: "read", status: .error, message: message,
                    location: location ?? SourceLocation(file: dataset.path)))
        }
        do {
            guard
                let data = try DataResolver.dataset(dataset.path, in: revision.files, stores: stores, options: options)
            else {
                return failure("\(dataset.path) does not exist at \(revision.name)", nil)
            }
            return .success(data)
        } catch let error as GitOpsMLError where error.notPulled {
            // Not fetched (a DVC or LFS object absent here): the findings that need it say so, with the
            // pull to run; the rest of the check goes on.
            return failure(error.message + (revision.commit == nil ? "" : " (at \(revision.name))"), nil)
        } catch let error as CategorizedError where error.category == .environment {
            throw error
        } catch let error as GitOpsMLError {
            return failure(error.message + (revision.commit == nil ? "" : " (at \(revision.name))"), error.location)
        } catch {
            return failure("\(error)", nil)
        }
    }

    static func evaluate(_ expectation: DataPolicy.Expectation, on data: Dataset, id: String) -> Finding {
        do {
            let result = try Expectations.evaluate(expectation, on: data)
            var details: [(key: String, value: StructuredValue)] = [("expectation", .string(result.type))]
            if !result.failingLines.isEmpty {
                details.append(("failing_lines", .array(result.failingLines.map { .int($0) })))
            }
            let lines =
                result.failingLines.isEmpty
                ? "" : " (e.g. \(data.file) lines \(result.failingLines.map(String.init).joined(separator: ", ")))"
            return Finding(
                id: id, suite: .data, check: result.type, status: result.success ? .pass : .fail,
                message: result.message + (result.success ? "" : lines), observed: result.observed,
                expected: result.expected,
                location: result.location, details: .object(details))
        } catch let missing as ExpectationColumnMissing {
            return Finding(
                id: id, suite: .data, check: expectation.type, status: .fail,
                message:
                    "no column \"\(missing.column)\" in \(data.file) (columns: \(missing.columns.joined(separator: ", ")))",
                location: missing.location)
        } catch {
            return Finding(
                id: id, suite: .data, check: expectation.type, status: .error, message: "\(error)",
                location: expectation.location)
        }
    }
}

/// Drift results as findings: one per column, and the dataset verdict.
public enum DriftFindings {
    public static func findings(_ report: DriftReport, id: String, dataset: String, base: String) -> [Finding] {
        var findings = report.columns.map { column -> Finding in
            var details: [(key: String, value: StructuredValue)] = [
                ("column", .string(column.column)), ("kind", .string(column.kind)),
                ("n_reference", .int(column.referenceCount)), ("n_current", .int(column.currentCount)),
            ]
            if let test = column.test { details.append(("test", .string(test.rawValue))) }
            if let statistic = column.statistic { details.append(("statistic", .double(statistic))) }
            if let score = column.score { details.append((column.isPValue ? "p_value" : "distance", .double(score))) }
            if let threshold = column.threshold { details.append(("threshold", .double(threshold))) }
            if !column.method.isEmpty { details.append(("method", .array(column.method.map(StructuredValue.string)))) }
            let status: Finding.Status
            let message: String
            switch column.drifted {
            case nil:
                status = .skip
                message = "\(column.column): \(column.note ?? "not judged")"
            case let drifted?:
                status = drifted ? .warn : .pass
                let measure = column.isPValue ? "p = \(format(column.score))" : "distance \(format(column.score))"
                message =
                    "\(column.column): \(drifted ? "drift" : "no drift") (\(column.test?.rawValue ?? "?") \(measure), threshold \(format(column.threshold)); n = \(column.referenceCount) → \(column.currentCount)\(column.method.isEmpty ? "" : "; " + column.method.joined(separator: "; ")))"
            }
            return Finding(
                id: "\(id)/drift/\(column.column)", suite: .data, check: "drift", status: status, message: message,
                details: .object(details))
        }
        let share = String(format: "%.0f%%", report.share * 100)
        findings.append(
            Finding(
                id: "\(id)/drift", suite: .data, check: "dataset-drift", status: report.datasetDrift ? .fail : .pass,
                message:
                    "\(dataset): \(report.driftedCount) of \(report.evaluated.count) columns drifted from \(base) (\(share); dataset drift at \(String(format: "%.0f%%", report.settings.driftShare * 100)))",
                observed: .double(report.share),
                expected: .object([("drift_share", .double(report.settings.driftShare))])))
        return findings
    }

    static func format(_ value: Double?) -> String {
        guard let value else { return "–" }
        guard value.isFinite else { return value.isNaN ? "not a number" : (value > 0 ? "∞" : "−∞") }
        return value != 0 && abs(value) < 0.001 ? String(format: "%.3g", value) : String(format: "%.4g", value)
    }
}

extension Finding {
    func with(id: String) -> Finding {
        var copy = self
        copy.id = id
        return copy
    }
}
