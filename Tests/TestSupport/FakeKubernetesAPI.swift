import Foundation
import GitOpsMLCore
import HTTPClient
import Processes

/// A stand-in API server over HTTPS on 127.0.0.1 (Fixtures/fake_kube_api.py) that checks method, path,
/// headers and body of every request.
public final class FakeKubernetesAPI {
    let temp: TemporaryDirectory
    let process: ChildProcess
    /// `https://127.0.0.1:<port>`, its certificate (the CA to trust) and the token it accepts.
    public let server: String
    public let certificate: String
    public let token: String
    /// One JSON line per request; `log + ".faults"` injects errors (see the script).
    public let log: String

    public init(token: String = "test-token") throws {
        temp = TemporaryDirectory("kube-api")
        let cert = temp.path + "/cert.pem"
        let key = temp.path + "/key.pem"
        _ = try run([
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
        ])
        log = temp.path + "/requests.jsonl"
        let portFile = temp.path + "/port"
        process = try Subprocess.start(
            ["python3", packageRoot + "/Tests/Fixtures/fake_kube_api.py", cert, key, token, portFile, log],
            stdoutPath: temp.path + "/server.log", stderrPath: temp.path + "/server.log")
        var port: String?
        for _ in 0..<200 where port == nil {
            port = try? String(contentsOfFile: portFile, encoding: .utf8)
            if port == nil { usleep(25_000) }
        }
        server = "https://127.0.0.1:\(port ?? "0")"
        certificate = cert
        self.token = token
    }

    /// Every request so far: method, path, content type, body.
    public func requests() -> [[String: Any]] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Makes the next `method` request (`PATCH`, `GET`, `LIST`, `DELETE`) answer `status`.
    public func fail(_ method: String, _ status: Int, retryAfter: Int? = nil) throws {
        let line = "\(method) \(status)" + (retryAfter.map { " \($0)" } ?? "") + "\n"
        let path = log + ".faults"
        let old = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        try (old + line).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Someone else's edit (`kubectl scale`, an autoscaler): a JSON merge patch of the object at `path`
    /// under field manager `manager`; the status the stand-in answers.
    @discardableResult
    public func edit(_ path: String, _ patch: [String: Any], manager: String = "kubectl") throws -> Int {
        try send("PATCH", path + "?fieldManager=\(manager)", patch, contentType: "application/merge-patch+json")
    }

    /// A request as the agent would send it, for what the tests set up or read; the status.
    @discardableResult
    public func send(_ method: String, _ path: String, _ body: [String: Any]? = nil, contentType: String? = nil)
        throws -> Int
    {
        var headers: [(name: String, value: String)] = [("Authorization", "Bearer \(token)")]
        if let contentType { headers.append(("Content-Type", contentType)) }
        let bytes = try body.map { Array(try JSONSerialization.data(withJSONObject: $0)) } ?? []
        let request = HTTPRequest(
            method, server + path, headers: headers, body: bytes, connectTimeout: 5, timeout: 10, verifyTLS: true,
            caBundle: certificate)
        return try HTTPClient.perform(request).status
    }

    /// The object at `path` as the stand-in holds it now (a GET), nil when absent.
    public func object(_ path: String) throws -> [String: Any]? {
        let request = HTTPRequest(
            "GET", server + path, headers: [("Authorization", "Bearer \(token)")], body: [], connectTimeout: 5,
            timeout: 10, verifyTLS: true, caBundle: certificate)
        let response = try HTTPClient.perform(request)
        guard response.status == 200 else { return nil }
        return try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
    }

    deinit { _ = process.terminate(grace: 2) }
}
