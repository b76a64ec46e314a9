import Config
import Foundation
import GitOpsMLCore
import GitStore
import TestSupport
import Testing

@testable import Datasets

/// Datasets are read block by block from wherever they are: a file of the work tree, a loose git object
/// inflated as it is read, a packed object, a pointer's object verified as it streams.
@Suite("Streaming reads")
struct StreamingTests {
    let temp = TemporaryDirectory("stream")

    /// A pointer's object is verified as it streams, in pieces that cut the hashes' 64-byte blocks anywhere:
    /// the digests agree with coreutils' sha256sum and md5sum, and one wrong digit is a corrupt object.
    @Test(arguments: [0, 1, 55, 56, 63, 64, 65, 1000, 100_000])
    func streamedDigestsMatchCoreutils(length: Int) throws {
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let file = temp.path + "/object-\(length)"
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        for (tool, digest) in [
            ("sha256sum", { VerifyingStream.Digest.sha256($0) }), ("md5sum", { .md5($0, legacy: false) }),
        ] as [(String, (String) -> VerifyingStream.Digest)] {
            let expected = try run([tool, file]).split(separator: " ")[0]
            let wrong = (expected.first == "0" ? "1" : "0") + expected.dropFirst()
            for (text, valid) in [(String(expected), true), (wrong, false)] {
                let stream = VerifyingStream(
                    MemoryStream(bytes), digest: digest(text), size: length, corrupt: "corrupt",
                    sizeDiffers: { "size \($0)" })
                var buffer = [UInt8](repeating: 0, count: 97)
                var piece = 1
                let read = {
                    while true {
                        let got = try buffer.withUnsafeMutableBytes {
                            try stream.read(into: .init(rebasing: $0[..<piece]))
                        }
                        if got == 0 { break }
                        piece = piece % 97 + 1
                    }
                }
                if valid { try read() } else { #expect(throws: GitOpsMLError.self) { try read() } }
            }
        }
    }

    /// About 3 MB: more than one 2 MiB block, with text, integers and decimals.
    static let csv: String = {
        var text = "id,score,label\n"
        for index in 0..<90_000 { text += "\(index),\(Double(index % 977) / 8),class-\(index % 7)\n" }
        return text
    }()

    func same(_ data: Dataset?, _ expected: Dataset) throws {
        let data = try #require(data)
        #expect(data.rowCount == expected.rowCount && data.columnNames == expected.columnNames)
        for (a, b) in zip(data.columns, expected.columns) {
            #expect(a.type == b.type && a.values == b.values && a.strings == b.strings, "\(a.name)")
        }
        #expect(data.rowLines.last == expected.rowLines.last)
    }

    @Test func looseAndPackedObjectsAndTheWorkTreeReadTheSame() throws {
        let dir = try makeRepository(in: temp.sub("repo"), files: ["data/d.csv": Self.csv])
        let expected = try Dataset.read(Array(Self.csv.utf8), file: "data/d.csv")
        #expect(expected.rowCount == 90_000)
        let stores = DataStores(dvcCache: nil, lfsObjects: nil)
        let loose = try Repository(at: dir)
        let head = try loose.fileView(.git("HEAD"))
        // A loose object streams from libgit2's inflater; its size is known before reading.
        #expect(try head.stream("data/d.csv")?.size == Self.csv.utf8.count)
        try same(DataResolver.dataset("data/d.csv", in: head, stores: stores, options: .init()), expected)
        try same(
            DataResolver.dataset("data/d.csv", in: loose.fileView(.workspace), stores: stores, options: .init()),
            expected)
        _ = try git("gc", "-q", in: dir)
        let packed = try Repository(at: dir)
        try same(
            DataResolver.dataset("data/d.csv", in: packed.fileView(.git("HEAD")), stores: stores, options: .init()),
            expected)
    }

    /// A byte flipped, half the file cut off, the checksum cut off: each an error naming the file (libgit2
    /// 1.5 itself loops forever on the last two).
    @Test(arguments: ["flipped", "halved", "checksum"])
    func aDamagedLooseObjectIsAnErrorNotAShorterDataset(damage: String) throws {
        let dir = try makeRepository(in: temp.sub("damaged-\(damage)"), files: ["data/d.csv": Self.csv])
        let blob = try git("rev-parse", "HEAD:data/d.csv", in: dir)
        let object = dir + "/.git/objects/\(blob.prefix(2))/\(blob.dropFirst(2))"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: object)))
        switch damage {
        case "flipped": bytes[bytes.count / 2] ^= 0xFF
        case "halved": bytes.removeLast(bytes.count / 2)
        default: bytes.removeLast(3)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: object)
        try Data(bytes).write(to: URL(fileURLWithPath: object))
        let repository = try Repository(at: dir)
        let head = try repository.fileView(.git("HEAD"))
        let error = #expect(throws: (any Error).self) {
            try DataResolver.dataset(
                "data/d.csv", in: head, stores: DataStores(dvcCache: nil, lfsObjects: nil), options: .init())
        }
        #expect(error.map { ExitStatus.of($0) } == .environment)
        #expect(error.map { "\($0)".contains("data/d.csv") } == true, "\(String(describing: error))")
        // Whole reads (show, diff) go the same way.
        #expect(throws: (any Error).self) { try head.read("data/d.csv") }
    }

    @Test func pointerObjectsAreVerifiedAsTheyStream() throws {
        let content = Array(Self.csv.utf8)
        let oid = Digests.sha256(content)
        let dir = try makeRepository(
            in: temp.sub("lfs"),
            files: [
                "data/d.csv": "version https://git-lfs.github.com/spec/v1\noid sha256:\(oid)\nsize \(content.count)\n"
            ])
        let repository = try Repository(at: dir)
        let stores = DataStores.of(gitDirectory: repository.gitDirectory, workTree: repository.workTree)
        let folder = repository.gitDirectory + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(content).write(to: URL(fileURLWithPath: folder + "/" + oid))
        let head = try repository.fileView(.git("HEAD"))
        try same(
            DataResolver.dataset("data/d.csv", in: head, stores: stores, options: .init()),
            try Dataset.read(content, file: "data/d.csv"))
        // One byte changed near the end, after the first blocks were parsed: still an error.
        var damaged = content
        damaged[damaged.count - 10] = UInt8(ascii: "9")
        try Data(damaged).write(to: URL(fileURLWithPath: folder + "/" + oid))
        let corrupt = #expect(throws: GitOpsMLError.self) {
            try DataResolver.dataset("data/d.csv", in: head, stores: stores, options: .init())
        }
        #expect(corrupt?.message.contains("is corrupt") == true)
    }

    @Test func blockBoundariesLongLinesAndBlankLines() throws {
        // Blocks of 64 bytes: every row crosses or ends a block; a 300-byte value makes its block grow;
        // blank lines make the row lines a list.
        let long = String(repeating: "x", count: 300)
        let text = "a,b\n1,p\n\n2,\(long)\n3,q\r\n\n\n4,r\n" + (5..<40).map { "\($0),s\($0)\n" }.joined() + "40,end"
        let whole = try Dataset.read(Array(text.utf8), file: "d.csv")
        let small = try #require(
            try ColumnarCSV.read(
                { MemoryStream(Array(text.utf8)) }, file: "d.csv", delimiter: UInt8(ascii: ","),
                options: Dataset.Options(), blockSize: 64))
        try same(small, whole)
        #expect(small.column("b")?.text(1) == long)
        #expect((0..<small.rowCount).map { small.rowLines[$0] }.prefix(5) == [2, 4, 5, 8, 9])
        #expect(small.rowLines.last == 44)
        // A quote first seen in a late block: the block reader gives up (the RFC 4180 reader takes over),
        // and a bad byte in a late block is reported at its line.
        let quoted = text + "\n41,\"q,uoted\"\n"
        #expect(
            try ColumnarCSV.read(
                { MemoryStream(Array(quoted.utf8)) }, file: "d.csv", delimiter: UInt8(ascii: ","),
                options: Dataset.Options(), blockSize: 64) == nil)
        #expect(try Dataset.read(Array(quoted.utf8), file: "d.csv").column("b")?.text(40) == "q,uoted")
        let broken = Array((text + "\n41,").utf8) + [0xFF] + Array("\n".utf8)
        let error = #expect(throws: GitOpsMLError.self) {
            try ColumnarCSV.read(
                { MemoryStream(broken) }, file: "d.csv", delimiter: UInt8(ascii: ","), options: Dataset.Options(),
                blockSize: 64)
        }
        #expect(error?.location?.line == 45 && error?.message == "not valid UTF-8")
    }

    @Test func onlyTheColumnsAskedForAreRead() throws {
        var options = Dataset.Options()
        options.columns = ["label"]
        let data = try Dataset.read(Array(Self.csv.utf8), file: "d.csv", options: options)
        #expect(data.columnNames == ["id", "score", "label"])
        #expect(data.columns.map(\.name) == ["label"] && data.column("id") == nil)
        #expect(data.rowCount == 90_000 && data.column("label")?.text(8) == "class-1")
        // Expectations see every name, and read only the columns they name.
        let policy = try Policy.parse(
            Array(
                """
                apiVersion: gitops-ml/v1
                kind: DataPolicy
                metadata: {name: d}
                spec:
                  dataset: d
                  expectations:
                    - expect: table_columns_to_match_ordered_list
                      column_list: [id, score, label]
                    - expect: column_to_exist
                      column: score
                    - expect: column_values_to_be_in_set
                      column: label
                      value_set: [class-0, class-1, class-2, class-3, class-4, class-5, class-6]
                """.utf8), file: "p.yaml")
        guard case .data(let dataPolicy)? = policy.first else {
            Issue.record("not a DataPolicy")
            return
        }
        #expect(Expectations.columnsRead(by: dataPolicy.expectations) == ["score", "label"])
        for expectation in dataPolicy.expectations {
            #expect(try Expectations.evaluate(expectation, on: data).success, "\(expectation.type)")
        }
    }
}
