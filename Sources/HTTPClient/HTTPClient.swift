internal import CCurl
import Foundation
import GitOpsMLCore

/// An HTTP request. TLS verification is on unless a caller turns it off explicitly.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    /// Header names and values, sent in order. Values are never logged.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Seconds to establish the connection.
    public var connectTimeout: Double
    /// Seconds for the whole transfer.
    public var timeout: Double
    public var verifyTLS: Bool
    /// A PEM file of trusted certificates, instead of the system's.
    public var caBundle: String?
    /// PEM files of a client certificate and its key (TLS client authentication, as kubeconfig users use).
    public var clientCertificate: String?
    public var clientKey: String?
    /// Responses larger than this fail instead of filling memory.
    public var maxResponseBytes: Int

    public init(
        _ method: String = "GET", _ url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        connectTimeout: Double = 5, timeout: Double = 30, verifyTLS: Bool = true, caBundle: String? = nil,
        maxResponseBytes: Int = 64 << 20
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.verifyTLS = verifyTLS
        self.caBundle = caBundle
        self.maxResponseBytes = maxResponseBytes
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names in lower case; the last value wins.
    public var headers: [String: String]
    public var body: [UInt8]
    /// Seconds from the start of the request to the end of the transfer.
    public var duration: Double

    public init(status: Int, headers: [String: String], body: [UInt8], duration: Double) {
        self.status = status
        self.headers = headers
        self.body = body
        self.duration = duration
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A failed transfer (not an HTTP error status, which is a response). The URL is redacted.
public struct HTTPError: CategorizedError, Equatable {
    public enum Kind: Sendable, Equatable { case timeout, connection, tls, protocolNotAllowed, tooLarge, other }
    public var kind: Kind
    public var url: String
    public var message: String

    public init(kind: Kind, url: String, message: String) {
        self.kind = kind
        self.url = url
        self.message = message
    }

    public var category: ErrorCategory { .environment }
    public var description: String { "\(url): \(message)" }
}

/// What sends a request: `HTTPClient.perform`, or a recorder or stand-in in tests.
public typealias HTTPTransport = @Sendable (HTTPRequest) throws -> HTTPResponse

/// Requests over libcurl. `perform` blocks its thread; `send` runs the transfer on a thread of its own
/// so that Swift's cooperative pool is never blocked.
public enum HTTPClient {
    /// libcurl, loaded and initialised once; nil with the loader's message when it cannot be.
    private static let loadError: String? = {
        if let message = gml_curl_load() { return String(cString: message) }
        _ = gml_curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        return nil
    }()

    /// How transfers are held to HTTP and HTTPS, by the libcurl found at run time: the name lists from
    /// 7.85 (`CURLOPT_PROTOCOLS_STR`), the bitmasks before it (Ubuntu 22.04 ships 7.81).
    enum ProtocolRestriction: Equatable { case names, bitmask }

    static func protocolRestriction(forVersion number: UInt32) -> ProtocolRestriction {
        number >= 0x07_55_00 ? .names : .bitmask
    }

    private static let restriction = protocolRestriction(forVersion: UInt32(gml_curl_version_num()))

    private static func restrictProtocols(_ handle: UnsafeMutableRawPointer, _ restriction: ProtocolRestriction)
        -> CURLcode
    {
        switch restriction {
        case .names:
            let first = gml_curl_set_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
            return first != CURLE_OK ? first : gml_curl_set_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        case .bitmask: return gml_curl_restrict_protocols_bitmask(handle)
        }
    }

    public static func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try perform(request) }) }
        }
    }

    public static func perform(_ request: HTTPRequest) throws -> HTTPResponse {
        try perform(request, restriction: nil)
    }

    /// `restriction` forces one way of holding transfers to HTTP(S) (the tests drive the pre-7.85 one with
    /// the libcurl at hand); nil takes the loaded libcurl's.
    static func perform(_ request: HTTPRequest, restriction forced: ProtocolRestriction?) throws -> HTTPResponse {
        let safeURL = Redaction.url(request.url)
        if let loadError {
            throw HTTPError(kind: .other, url: safeURL, message: "cannot load libcurl: \(loadError)")
        }
        guard let handle = gml_curl_easy_init() else {
            throw HTTPError(kind: .other, url: safeURL, message: "cannot create a curl handle")
        }
        defer { gml_curl_easy_cleanup(handle) }
        let sink = ResponseSink(limit: request.maxResponseBytes)
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { gml_curl_slist_free_all(headerList) }

        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let start = Date()
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
            var setup: [CURLcode] = [
                gml_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errorPointer.baseAddress),
                gml_curl_set_string(handle, CURLOPT_URL, request.url),
                restrictProtocols(handle, forced ?? restriction),
                gml_curl_set_long(handle, CURLOPT_NOSIGNAL, 1),
                gml_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(request.connectTimeout * 1000)),
                gml_curl_set_long(handle, CURLOPT_TIMEOUT_MS, Int(request.timeout * 1000)),
                gml_curl_set_long(handle, CURLOPT_SSL_VERIFYPEER, request.verifyTLS ? 1 : 0),
                gml_curl_set_long(handle, CURLOPT_SSL_VERIFYHOST, request.verifyTLS ? 2 : 0),
                gml_curl_set_write(handle, CURLOPT_WRITEFUNCTION, ResponseSink.writeBody),
                gml_curl_set_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque()),
                gml_curl_set_write(handle, CURLOPT_HEADERFUNCTION, ResponseSink.writeHeader),
                gml_curl_set_pointer(handle, CURLOPT_HEADERDATA, Unmanaged.passUnretained(sink).toOpaque()),
            ]
            if let caBundle = request.caBundle { setup.append(gml_curl_set_string(handle, CURLOPT_CAINFO, caBundle)) }
            if let certificate = request.clientCertificate {
                setup.append(gml_curl_set_string(handle, CURLOPT_SSLCERT, certificate))
            }
            if let key = request.clientKey { setup.append(gml_curl_set_string(handle, CURLOPT_SSLKEY, key)) }
            switch request.method.uppercased() {
            case "GET": setup.append(gml_curl_set_long(handle, CURLOPT_HTTPGET, 1))
            case "HEAD": setup.append(gml_curl_set_long(handle, CURLOPT_NOBODY, 1))
            default: setup.append(gml_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, request.method.uppercased()))
            }
            if !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(request.method.uppercased()) {
                setup.append(gml_curl_set_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
                // COPYPOSTFIELDS copies the body, so it need not outlive this call.
                setup.append(
                    request.body.withUnsafeBytes { bytes -> CURLcode in
                        guard let base = bytes.baseAddress else {
                            return gml_curl_set_string(handle, CURLOPT_COPYPOSTFIELDS, "")
                        }
                        return gml_curl_set_pointer(
                            handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base))
                    })
            }
            for header in request.headers {
                headerList = gml_curl_slist_append(headerList, "\(header.name): \(header.value)")
            }
            // Without an explicit empty Expect, curl waits for "100 Continue" on larger bodies.
            headerList = gml_curl_slist_append(headerList, "Expect:")
            setup.append(gml_curl_set_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList)))
            if let failed = setup.first(where: { $0 != CURLE_OK }) { return failed }
            return gml_curl_easy_perform(handle)
        }
        let duration = Date().timeIntervalSince(start)
        guard code == CURLE_OK else {
            if sink.overflowed {
                throw HTTPError(
                    kind: .tooLarge, url: safeURL, message: "response larger than \(request.maxResponseBytes) bytes")
            }
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let text = detail.isEmpty ? String(cString: gml_curl_easy_strerror(code)) : detail
            throw HTTPError(kind: kind(of: code), url: safeURL, message: Redaction.url(text))
        }
        var status = 0
        _ = gml_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &status)
        Log.debug(
            "http",
            [
                "method": request.method, "url": request.url, "status": "\(status)",
                "seconds": String(format: "%.3f", duration),
            ])
        return HTTPResponse(status: status, headers: sink.headers, body: sink.body, duration: duration)
    }

    private static func kind(of code: CURLcode) -> HTTPError.Kind {
        switch code {
        case CURLE_OPERATION_TIMEDOUT: return .timeout
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_RECV_ERROR,
            CURLE_SEND_ERROR, CURLE_GOT_NOTHING:
            return .connection
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE:
            return .tls
        case CURLE_UNSUPPORTED_PROTOCOL: return .protocolNotAllowed
        default: return .other
        }
    }
}

/// Collects the response for curl's C callbacks, which reach it through their user-data pointer.
private final class ResponseSink {
    let limit: Int
    var body: [UInt8] = []
    var headers: [String: String] = [:]
    var overflowed = false

    init(limit: Int) { self.limit = limit }

    static let writeBody: gml_curl_write_cb = { data, size, count, user in
        guard let user else { return 0 }
        let sink = Unmanaged<ResponseSink>.fromOpaque(user).takeUnretainedValue()
        let length = size * count
        guard sink.body.count + length <= sink.limit else {
            sink.overflowed = true
            return 0  // makes curl abort with CURLE_WRITE_ERROR
        }
        if let data { sink.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length)) }
        return length
    }

    static let writeHeader: gml_curl_write_cb = { data, size, count, user in
        guard let user, let data else { return 0 }
        let sink = Unmanaged<ResponseSink>.fromOpaque(user).takeUnretainedValue()
        let length = size * count
        let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            sink.headers = [:]  // a new response (after a 100 Continue or a redirect)
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].lowercased()
            sink.headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return length
    }
}

extension HTTPClient {
    /// The version of libcurl this process runs with.
    public static var libraryVersion: String {
        if let loadError { return "unavailable (\(loadError))" }
        // "libcurl/7.88.1 OpenSSL/3.0.15 zlib/1.2.13 …"
        let full = String(cString: gml_curl_version())
        return full.split(separator: " ").first.map { String($0.dropFirst("libcurl/".count)) } ?? full
    }
}
