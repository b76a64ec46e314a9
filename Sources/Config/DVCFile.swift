import Foundation
import GitOpsMLCore

/// dvc.yaml as DVC reads it: `${name.key}` in its strings and keys (`${base.model_dir}/model.pkl`, a stage's
/// `cmd`) replaced from the project's `params.yaml` and what `vars:` names (files, `file.yaml:key1,key2`, or
/// values written inline), as DVC's templating does. A name it cannot resolve is left as written; a file
/// `vars:` names outside the repository is not read.
public enum DVCFile {
    /// The parsed, interpolated `dvc.yaml` at `file` in `view`; nil when there is none.
    public static func read(_ file: String, in view: any FileView) throws -> StructuredValue? {
        guard let bytes = try view.read(file) else { return nil }
        let document = try YAMLReader.parse(bytes, file: file)
        guard String(decoding: bytes, as: UTF8.self).contains("${") else { return document }
        let folder = (file as NSString).deletingLastPathComponent
        var context: [String: StructuredValue] = [:]
        func load(_ name: String, keys: [String]? = nil) {
            let path = TrackedFiles.normalize(folder.isEmpty ? name : folder + "/" + name)
            guard !path.hasPrefix("..") && !path.hasPrefix("/"), let bytes = try? view.read(path),
                let values = try? StructuredFormat.parse(bytes, path: path)
            else { return }
            for (key, value) in values.flattened()
            where keys.map({ wanted in wanted.contains { key == $0 || key.hasPrefix($0 + ".") } }) ?? true {
                context[key] = value
            }
        }
        load("params.yaml")
        for item in document["vars"]?.arrayValue ?? [] {
            switch item {
            case .string(let spec):
                let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
                load(parts[0], keys: parts.count > 1 ? parts[1].split(separator: ",").map(String.init) : nil)
            case .object:
                for (key, value) in item.flattened() { context[key] = value }
            default: continue
            }
        }
        return substitute(document, context)
    }

    static func substitute(_ value: StructuredValue, _ context: [String: StructuredValue]) -> StructuredValue {
        switch value {
        case .string(let text): return interpolate(text, context)
        case .array(let items): return .array(items.map { substitute($0, context) })
        case .object(let pairs):
            return .object(
                pairs.map { pair in
                    let key: String
                    if case .string(let replaced) = interpolate(pair.key, context) {
                        key = replaced
                    } else {
                        key = pair.key
                    }
                    return (key, substitute(pair.value, context))
                })
        default: return value
        }
    }

    /// `"${a.b}"` alone takes the value itself (a number stays a number); inside a longer string, its text.
    static func interpolate(_ text: String, _ context: [String: StructuredValue]) -> StructuredValue {
        guard text.contains("${") else { return .string(text) }
        var result = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else { break }
            let name = rest[open.upperBound..<close].trimmingCharacters(in: .whitespaces)
            guard let value = context[name] else {
                result += rest[..<rest.index(after: close)]
                rest = rest[rest.index(after: close)...]
                continue
            }
            if result.isEmpty, rest.startIndex == text.startIndex, rest.index(after: close) == text.endIndex {
                return value
            }
            result += rest[..<open.lowerBound] + Self.text(of: value)
            rest = rest[rest.index(after: close)...]
        }
        return .string(result + rest)
    }

    static func text(of value: StructuredValue) -> String {
        switch value {
        case .string(let text): return text
        case .int(let number): return String(number)
        case .bool(let flag): return flag ? "true" : "false"
        default: return value.json()
        }
    }
}
