import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import Check
@testable import Config

private let pytestInstalled = (try? Subprocess.run(["python3", "-c", "import pytest"]))?.status == 0

/// The code suite on real commands: pytest's own JUnit XML read back case by case, a command that does
/// not exist, and one that outlives its timeout.
@Suite("Code checks")
struct CodeSuiteTests {
    let temp = TemporaryDirectory("code-suite")

    @Test(.enabled(if: pytestInstalled || runningInCI, "needs pytest for python3"))
    func pytestsJUnitIsReadCaseByCase() throws {
        let directory = temp.sub("project")
        try write(
            """
            import pytest

            def test_adds():
                assert 1 + 1 == 2

            def test_fails():
                assert 2 * 2 == 5, "arithmetic is broken"

            @pytest.mark.skip(reason="not today")
            def test_skipped():
                pass

            """, to: "tests/test_math.py", in: directory)
        var check = ProjectConfig.CodeCheck(
            name: "unit", run: "python3 -m pytest -q -p no:cacheprovider --junitxml=report.xml tests")
        check.junit = "report.xml"
        let findings = CodeSuite.run(check, workTree: directory)
        let command = try #require(findings.first { $0.id == "code/unit" })
        #expect(command.status == .fail)
        #expect(command.message.hasPrefix("unit exited with status 1"), "\(command.message)")
        let summary = try #require(findings.first { $0.id == "code/unit/junit" })
        #expect(summary.message == "unit: 3 tests, 1 failed, 1 skipped", "\(summary.message)")
        let failed = findings.filter { $0.id.hasPrefix("code/unit/junit/") }
        #expect(failed.map(\.id) == ["code/unit/junit/tests.test_math.test_fails"], "\(failed.map(\.id))")
        #expect(failed.first?.message.contains("arithmetic is broken") == true, "\(failed)")
    }

    @Test func aMissingCommandIsAnErrorAndASlowOneFailsAtItsTimeout() throws {
        let directory = temp.sub("plain")
        let missing = CodeSuite.run(.init(name: "lint", run: "no-such-linter-xyz --strict"), workTree: directory)
        #expect(missing.map(\.status) == [.error])
        #expect(missing.first?.message.hasPrefix("lint: command not found") == true, "\(missing)")

        var slow = ProjectConfig.CodeCheck(name: "slow", run: "sleep 60")
        slow.timeout = 0.5
        let timedOut = CodeSuite.run(slow, workTree: directory)
        #expect(timedOut.map(\.status) == [.fail])
        #expect(timedOut.first?.message == "slow timed out after 0.5 s")

        let bare = CodeSuite.run(.init(name: "unit", run: "true"), workTree: nil)
        #expect(bare.map(\.status) == [.error])
        #expect(bare.first?.message == "unit: code checks need a work tree (this repository is bare)")
    }
}
