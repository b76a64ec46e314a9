import Foundation
import GitOpsMLCore

/// The templates a render reads: the user's `templates/` folder first, then the ones bundled in the binary.
public struct TemplateLibrary: Sendable {
    /// The user's templates folder, when the project has one.
    public let overrides: String?

    public init(overridesAt folder: String?) {
        if let folder, FileManager.default.fileExists(atPath: folder) { overrides = folder } else { overrides = nil }
    }

    /// The template at `path` (relative to templates/), parsed; errors name `templates/<path>`.
    public func template(_ path: String) throws -> Template {
        let name = "templates/" + path
        if let overrides {
            let file = overrides + "/" + path
            if let data = FileManager.default.contents(atPath: file) {
                guard let text = String(data: data, encoding: .utf8) else {
                    throw GitOpsMLError.configuration("not UTF-8 text", at: SourceLocation(file: name))
                }
                return try Template(name: name, text: text)
            }
        }
        guard let text = BundledTemplates.files[path] else {
            throw GitOpsMLError.configuration("no such template", at: SourceLocation(file: name))
        }
        return try Template(name: name, text: text)
    }

    /// The bundled templates' paths, for listing and tests.
    public static var bundledPaths: [String] { BundledTemplates.files.keys.sorted() }

    public static func bundled(_ path: String) -> String? { BundledTemplates.files[path] }
}

/// One file a render produces: its path relative to the repository root and its text.
public struct RenderedFile: Sendable, Equatable {
    public let path: String
    public let contents: String
    /// The template it came from, for error messages.
    public let template: String

    public init(path: String, contents: String, template: String) {
        self.path = path
        self.contents = contents
        self.template = template
    }
}
