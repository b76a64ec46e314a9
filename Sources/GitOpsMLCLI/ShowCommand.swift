import ArgumentParser
import Foundation
import GitOpsMLCore

/// `gitops-ml show REV:PATH`: a file's bytes at a revision, read from git objects without a checkout.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print a file as it is at a revision (REV:PATH, or workspace:PATH).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "REV:PATH, e.g. HEAD~2:metrics.json or v1.0:data/train.csv.")
    var object: String

    func run() throws {
        // env:ENV:PATH and registry:MODEL@V:PATH carry a colon of their own before the path's.
        let prefixed = ["env:", "registry:", "exp:"].first { object.hasPrefix($0) }
        let searchFrom = object.index(object.startIndex, offsetBy: prefixed?.count ?? 0)
        guard let colon = object[searchFrom...].firstIndex(of: ":"), colon != object.startIndex else {
            throw GitOpsMLError.usage("expected REV:PATH, e.g. HEAD:metrics.json (got '\(object)')")
        }
        let revision = String(object[..<colon])
        let path = String(object[object.index(after: colon)...])
        let project = try Project(global)
        let written: Void? = try project.files(revision).withContents(path) { bytes in try Output.write(bytes) }
        guard written != nil else { throw GitOpsMLError.environment("\(path): no such file at \(revision)") }
    }
}
