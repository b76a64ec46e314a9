internal import CLibGit2
import Foundation
import GitOpsMLCore

/// libgit2 is initialised once per process, on first use.
let libgit2Ready: Bool = {
    git_libgit2_init()
    // Like `git cat-file`, trust the object store's zlib checksums instead of re-hashing every object
    // read (0.08 s instead of 0.20 s for a 50 MB blob).
    _ = gml_git_opt_int(Int32(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION.rawValue), 0)
    // No object cache: every read here visits an object once or twice, and libgit2's cache made a
    // 100,000-commit history walk spend 40 % of its time inserting and evicting (1.4 s instead of 0.8 s).
    _ = gml_git_opt_int(Int32(GIT_OPT_ENABLE_CACHING.rawValue), 0)
    return true
}()

/// Turns a libgit2 return code into a `GitError`, reading the thread's last error at once.
@discardableResult
func check(_ code: Int32, _ operation: String, _ subject: String, notFound: GitError.Code = .revisionNotFound)
    throws -> Int32
{
    guard code < 0 else { return code }
    throw lastError(code, operation, subject, notFound: notFound)
}

func lastError(_ code: Int32, _ operation: String, _ subject: String, notFound: GitError.Code = .revisionNotFound)
    -> GitError
{
    var message = ""
    var errorClass: Int32 = 0
    if let last = git_error_last() {
        errorClass = last.pointee.klass
        if let text = last.pointee.message { message = String(cString: text) }
    }
    let mapped: GitError.Code
    switch git_error_code(rawValue: code) {
    case GIT_ENOTFOUND: mapped = notFound
    case GIT_EAMBIGUOUS: mapped = .ambiguousRevision
    case GIT_EINVALIDSPEC: mapped = .invalidRevision
    case GIT_ENONFASTFORWARD: mapped = .nonFastForward
    case GIT_EMODIFIED: mapped = .referenceMoved
    case GIT_EEXISTS: mapped = .referenceExists
    case GIT_ELOCKED: mapped = .locked
    case GIT_EAUTH: mapped = .authentication
    case GIT_EBAREREPO: mapped = .bareRepository
    case GIT_ECERTIFICATE: mapped = .network
    default:
        let networkClasses: [git_error_t] = [GIT_ERROR_NET, GIT_ERROR_SSL, GIT_ERROR_SSH, GIT_ERROR_HTTP]
        mapped = networkClasses.map { Int32($0.rawValue) }.contains(errorClass) ? .network : .other(code)
    }
    return GitError(mapped, operation: operation, subject: subject, message: message)
}

extension ObjectID {
    init(_ oid: UnsafePointer<git_oid>) {
        // git_oid_tostr_s writes into a thread-local buffer that is copied here at once.
        self.init(hex: git_oid_tostr_s(oid).map { String(cString: $0) } ?? "")
    }

    init(_ oid: git_oid) {
        var copy = oid
        self.init(&copy)
    }

    func raw() throws -> git_oid {
        var oid = git_oid()
        try check(git_oid_fromstr(&oid, hex), "parse object id", hex)
        return oid
    }
}

extension GitSignature {
    init(_ signature: UnsafePointer<git_signature>) {
        let sig = signature.pointee
        self.init(
            name: sig.name.map { String(cString: $0) } ?? "",
            email: sig.email.map { String(cString: $0) } ?? "",
            // Any time an object claims (a forged tag says 9223372036854775807) is kept within ±100,000
            // years, so converting it back to whole seconds can never overflow.
            time: Date(timeIntervalSince1970: Double(min(max(sig.when.time, -3_200_000_000_000), 3_200_000_000_000))),
            offsetMinutes: Int(sig.when.offset))
    }
}

@discardableResult
/// Calls `body` with a libgit2 signature built from `signature`, freed afterwards.
func withSignature<R>(_ signature: GitSignature, _ body: (UnsafeMutablePointer<git_signature>) throws -> R) throws -> R
{
    var raw: UnsafeMutablePointer<git_signature>?
    try check(
        git_signature_new(
            &raw, signature.name, signature.email, git_time_t(signature.time.timeIntervalSince1970),
            Int32(signature.offsetMinutes)), "create signature", signature.email)
    guard let raw else {
        throw GitError(.other(-1), operation: "create signature", subject: signature.email, message: "")
    }
    defer { git_signature_free(raw) }
    return try body(raw)
}

/// Copies a libgit2 buffer into a Swift string and frees it.
func consume(_ buffer: inout git_buf) -> String {
    defer { git_buf_dispose(&buffer) }
    guard let pointer = buffer.ptr else { return "" }
    return String(decoding: UnsafeRawBufferPointer(start: pointer, count: buffer.size), as: UTF8.self)
}
