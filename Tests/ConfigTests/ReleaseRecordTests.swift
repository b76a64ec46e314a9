import GitOpsMLCore
import Testing

@testable import Config

@Suite("Release records")
struct ReleaseRecordTests {
    @Test(arguments: ["HEAD", "main~1", "none", String(repeating: "A", count: 40), String(repeating: "a", count: 39)])
    func aSourceCommitIsAFullObjectIDNeverARevspec(source: String) {
        let text =
            "apiVersion: gitops-ml/v1\nkind: Release\nmodel: m\nenvironment: e\nversion: v1\nsource_commit: \"\(source)\"\n"
        #expect {
            _ = try ReleaseRecord.parse(Array(text.utf8), file: "releases/e/m.yaml")
        } throws: { error in
            let error = error as? GitOpsMLError
            return error?.location?.line == 6 && error?.message.contains("full commit id") == true
        }
        let good = text.replacingOccurrences(of: "\"\(source)\"", with: String(repeating: "ab", count: 20))
        #expect(throws: Never.self) { try ReleaseRecord.parse(Array(good.utf8), file: "releases/e/m.yaml") }
    }
}
