import Foundation
import Testing

@testable import Agent

/// The pages of code that starting alone touched are given back once the agent runs: the process's
/// file-backed resident memory falls, and what runs afterwards still works (its pages come back).
@Suite("Startup pages")
struct StartupPagesTests {
    /// `RssFile` of this process, in KiB.
    func residentFilePages() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("RssFile:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }

    @Test func readOnlyFilePagesAreGivenBack() throws {
        let before = try residentFilePages()
        let advised = AgentService.releaseStartupPages()
        guard advised > 0 else {
            // A kernel before 5.4 does not know MADV_PAGEOUT: nothing is advised, nothing else happens.
            #expect(errno == EINVAL, "madvise failed with \(errno) on every mapping")
            return
        }
        let after = try residentFilePages()
        #expect(after < before * 3 / 4, "RssFile \(before) → \(after) KiB after advising \(advised) mappings")
        // Code given back runs again.
        #expect(AgentService.releaseStartupPages() > 0)
    }
}
