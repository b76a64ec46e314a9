import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import HTTPClient

@Suite("HTTP client over libcurl, against a real loopback server")
struct HTTPClientTests {
    /// libcurl before 7.85 (Ubuntu 22.04's 7.81) has no CURLOPT_PROTOCOLS_STR: the bitmask options hold
    /// transfers to HTTP and HTTPS there, the name lists from 7.85 on; the libcurl here takes its branch in
    /// every request below.
    @Test func protocolRestrictionFollowsTheLibcurlVersion() {
        #expect(HTTPClient.protocolRestriction(forVersion: 0x07_51_00) == .bitmask)  // 7.81.0
        #expect(HTTPClient.protocolRestriction(forVersion: 0x07_54_02) == .bitmask)  // 7.84.2
        #expect(HTTPClient.protocolRestriction(forVersion: 0x07_55_00) == .names)  // 7.85.0
        #expect(HTTPClient.protocolRestriction(forVersion: 0x08_05_00) == .names)
        // The bitmask options, driven through the libcurl here, refuse file:// as the name lists do.
        for restriction in [HTTPClient.ProtocolRestriction.bitmask, .names] {
            let file = #expect(throws: HTTPError.self) {
                try HTTPClient.perform(HTTPRequest("GET", "file:///etc/passwd"), restriction: restriction)
            }
            #expect(file?.kind == .protocolNotAllowed, "\(restriction)")
        }
    }

    let server: LoopbackServer

    init() throws { server = try LoopbackServer.echo() }

    private func echo(_ response: HTTPResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    @Test func getWithHeaders() throws {
        let response = try HTTPClient.perform(
            HTTPRequest("GET", server.baseURL + "/echo", headers: [("Authorization", "Bearer s3cret"), ("X-A", "1")]))
        #expect(response.status == 200)
        #expect(response.headers["x-test"] == "yes")
        #expect(response.headers["content-type"] == "application/json")
        let echoed = try echo(response)
        #expect(echoed["method"] as? String == "GET")
        let headers = try #require(echoed["headers"] as? [String: String])
        #expect(headers["authorization"] == "Bearer s3cret")
        #expect(headers["x-a"] == "1")
    }

    @Test(arguments: ["POST", "PUT", "PATCH", "DELETE"])
    func methodsWithBodies(method: String) async throws {
        let body = Array("{\"apply\": \"yes\", \"bytes\": \"\u{e9}\"}".utf8)
        let response = try await HTTPClient.send(
            HTTPRequest(method, server.baseURL + "/echo", headers: [("Content-Type", "application/json")], body: body))
        let echoed = try echo(response)
        #expect(echoed["method"] as? String == method)
        #expect(echoed["body"] as? String == String(decoding: body, as: UTF8.self))
    }

    @Test func emptyPostAndErrorStatusesAreResponses() throws {
        let post = try HTTPClient.perform(HTTPRequest("POST", server.baseURL + "/echo"))
        #expect(try echo(post)["body"] as? String == "")
        let notFound = try HTTPClient.perform(HTTPRequest("GET", server.baseURL + "/status/503"))
        #expect(notFound.status == 503)
    }

    @Test func totalTimeoutIsAnEnvironmentErrorAndDoesNotHang() throws {
        // Timed around the blocking call: an async test's resumption can wait for a busy cooperative pool.
        let started = Date()
        let error = #expect(throws: HTTPError.self) {
            try HTTPClient.perform(HTTPRequest("GET", server.baseURL + "/slow?seconds=60", timeout: 0.5))
        }
        #expect(error?.kind == .timeout)
        #expect(error.map { ExitStatus.of($0) } == .environment)
        // A hang guard, not a benchmark: without the timeout the server would hold the request for 60 s.
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test func asyncSendTimesOutToo() async throws {
        let error = await #expect(throws: HTTPError.self) {
            try await HTTPClient.send(HTTPRequest("GET", server.baseURL + "/slow?seconds=60", timeout: 0.5))
        }
        #expect(error?.kind == .timeout)
    }

    @Test func refusedConnectionIsReported() throws {
        // Port 9 (discard) on loopback has no listener here.
        let error = #expect(throws: HTTPError.self) {
            try HTTPClient.perform(HTTPRequest("GET", "http://127.0.0.1:9/", connectTimeout: 1))
        }
        #expect(error?.kind == .connection)
    }

    @Test func onlyHTTPAndHTTPSAreAllowed() throws {
        let file = #expect(throws: HTTPError.self) { try HTTPClient.perform(HTTPRequest("GET", "file:///etc/passwd")) }
        #expect(file?.kind == .protocolNotAllowed)
        // Redirects are not followed, so a redirect to file:// cannot be used to read local files.
        let redirect = try HTTPClient.perform(HTTPRequest("GET", server.baseURL + "/redirect?to=file:///etc/passwd"))
        #expect(redirect.status == 302)
        #expect(redirect.headers["location"] == "file:///etc/passwd")
    }

    @Test func credentialsInURLsAreRedactedFromErrors() throws {
        let error = #expect(throws: HTTPError.self) {
            try HTTPClient.perform(
                HTTPRequest("GET", "http://user:hunter22@127.0.0.1:9/x?access_token=abcdef", connectTimeout: 1))
        }
        let text = try #require(error).description
        #expect(!text.contains("hunter22") && !text.contains("abcdef"))
        #expect(text.contains("127.0.0.1:9"))
    }

    @Test func oversizedResponsesFail() throws {
        let error = #expect(throws: HTTPError.self) {
            try HTTPClient.perform(HTTPRequest("GET", server.baseURL + "/big?bytes=200000", maxResponseBytes: 1000))
        }
        #expect(error?.kind == .tooLarge)
        let fits = try HTTPClient.perform(HTTPRequest("GET", server.baseURL + "/big?bytes=200000"))
        #expect(fits.body.count == 200_000)
    }

    @Test func tlsIsVerifiedByDefaultAndTrustsAGivenBundle() throws {
        let temp = TemporaryDirectory("tls")
        try run([
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", temp.path + "/key.pem", "-out",
            temp.path + "/cert.pem",
        ])
        let tls = try LoopbackServer([
            "python3", packageRoot + "/Tests/Fixtures/http_test_server.py", "--tls", temp.path + "/cert.pem",
            temp.path + "/key.pem",
        ])
        let url = "https://127.0.0.1:\(tls.port)/echo"
        let untrusted = #expect(throws: HTTPError.self) { try HTTPClient.perform(HTTPRequest("GET", url)) }
        #expect(untrusted?.kind == .tls)
        let trusted = try HTTPClient.perform(HTTPRequest("GET", url, caBundle: temp.path + "/cert.pem"))
        #expect(trusted.status == 200)
    }
}
