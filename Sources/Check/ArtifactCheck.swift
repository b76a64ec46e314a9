import Config
import Datasets
import GitOpsMLCore

/// The model's artifact at the head: present, within size bounds, of the format its name promises.
enum ArtifactCheck {
    /// The artifact is read through DVC and LFS pointers; their objects' digests must match the pointer.
    static func run(
        name: String, model: ProjectConfig.Model, revision: CheckRevision, stores: DataStores,
        rules: GatePolicy.ArtifactRules? = nil
    ) throws -> [Finding] {
        guard let path = model.artifact else { return [] }
        let id = "model/\(name)/artifact"
        let location = SourceLocation(file: path)
        let resolved: ResolvedData?
        do {
            resolved = try DataResolver.resolve(path, in: revision.files, stores: stores)
        } catch let error as GitOpsMLError {
            return [
                Finding(
                    id: id, suite: .model, check: "artifact", status: .error, message: error.description,
                    location: location)
            ]
        }
        guard let resolved else {
            // A stage output dvc.yaml declares but no dvc.lock records: the pipeline was never reproduced
            // and committed, which is the thing to fix.
            let declared =
                (try? revision.files.read("dvc.yaml")).flatMap { $0 }.map {
                    String(decoding: $0, as: UTF8.self).contains(path)
                } ?? false
            return [
                Finding(
                    id: id, suite: .model, check: "artifact", status: .fail,
                    message: "artifact \(path) does not exist at \(revision.name)"
                        + (declared
                            ? ": dvc.yaml mentions it, but no dvc.lock records it as an output (run `dvc repro` and commit dvc.lock)"
                            : ""),
                    location: location)
            ]
        }
        let bytes = resolved.bytes
        let digest = resolved.digest
        var problems: [String] = []
        if bytes.isEmpty { problems.append("is empty") }
        if let minimum = rules?.minBytes, bytes.count < minimum {
            problems.append("has \(bytes.count) bytes, fewer than \(minimum)")
        }
        if let maximum = rules?.maxBytes, bytes.count > maximum {
            problems.append("has \(bytes.count) bytes, more than \(maximum)")
        }
        let expected = rules?.format ?? ArtifactFormat.fromExtension(path)
        let sniffed = ArtifactFormat.sniff(bytes)
        if let expected, !bytes.isEmpty, sniffed != expected, !(expected == "joblib" && sniffed == "pickle") {
            problems.append("should be \(expected) but its bytes look like \(sniffed ?? "none of the known formats")")
        }
        let details: StructuredValue = .object([
            ("bytes", .int(bytes.count)), ("digest", .string(digest)),
            ("format", sniffed.map(StructuredValue.string) ?? .null), ("stored_as", .string(resolved.kind.rawValue)),
            ("pointer", resolved.pointer.map(StructuredValue.string) ?? .null),
        ])
        let via = resolved.pointer.map { " via \($0), digest verified" } ?? ""
        return [
            Finding(
                id: id, suite: .model, check: "artifact", status: problems.isEmpty ? .pass : .fail,
                message: problems.isEmpty
                    ? "artifact \(path): \(bytes.count) bytes, \(sniffed ?? "unknown format"), \(digest.prefix(19))…\(via)"
                    : "artifact \(path) " + problems.joined(separator: "; "),
                observed: .int(bytes.count), location: location, details: details)
        ]
    }
}

/// File formats of model artifacts, recognised by their first bytes.
public enum ArtifactFormat {
    public static func fromExtension(_ path: String) -> String? {
        switch path.split(separator: ".").last?.lowercased() {
        case "json": return "json"
        case "onnx": return "onnx"
        case "safetensors": return "safetensors"
        case "pkl", "pickle": return "pickle"
        case "joblib": return "joblib"
        default: return nil
        }
    }

    public static func sniff(_ bytes: [UInt8]) -> String? {
        guard let first = bytes.first else { return nil }
        // pickle: protocol 2+ starts with PROTO (0x80) and the protocol number.
        if first == 0x80, bytes.count > 1, (2...5).contains(bytes[1]) { return "pickle" }
        // joblib's compressed pickles: zlib (0x78) or its own "ZF" header.
        if first == 0x78 && bytes.count > 1 && [0x01, 0x5E, 0x9C, 0xDA].contains(bytes[1]) { return "joblib" }
        if bytes.starts(with: Array("ZF".utf8)) { return "joblib" }
        // safetensors: an 8-byte little-endian header length, then a JSON object.
        if bytes.count > 9 {
            let length = bytes[0..<8].enumerated().reduce(UInt64(0)) {
                $0 | UInt64($1.element) << (8 * UInt64($1.offset))
            }
            if length > 1 && length < UInt64(bytes.count) && bytes[8] == UInt8(ascii: "{") { return "safetensors" }
        }
        // ONNX: a protobuf ModelProto, whose first field is ir_version (field 1, varint: 0x08).
        if first == 0x08 && bytes.count > 2 && bytes[1] < 0x80 && bytes.contains(0x12) { return "onnx" }
        let text = bytes.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        if let start = text.first, start == UInt8(ascii: "{") || start == UInt8(ascii: "["),
            (try? JSONReader.parse(bytes, file: "artifact")) != nil
        {
            return "json"
        }
        return nil
    }
}
