import Foundation

/// Foundation's file and system errors in gitops-ml's words: "PATH: No such file or directory", never
/// "The operation could not be completed" or an NSCocoaErrorDomain code. nil for any other error.
public enum SystemErrors {
    public static func describe(_ error: any Error) -> String? {
        let error = error as NSError
        guard [NSCocoaErrorDomain, NSPOSIXErrorDomain, NSURLErrorDomain].contains(error.domain) else { return nil }
        let path =
            error.userInfo[NSFilePathErrorKey] as? String ?? (error.userInfo[NSURLErrorKey] as? URL)?.path
        let reason = posixReason(error) ?? cocoaReason(error) ?? "error \(error.code)"
        return Redaction.oneLine(path.map { "\($0): \(reason)" } ?? reason)
    }

    /// The C library's words for the POSIX error at the bottom of `error`, if there is one.
    static func posixReason(_ error: NSError) -> String? {
        var current: NSError? = error
        while let next = current {
            if next.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(next.code))) }
            current = next.userInfo[NSUnderlyingErrorKey] as? NSError
        }
        return nil
    }

    static func cocoaReason(_ error: NSError) -> String? {
        switch CocoaError.Code(rawValue: error.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file"
        case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
        case .fileWriteOutOfSpace: return "no space left on the device"
        case .fileReadCorruptFile, .fileReadInapplicableStringEncoding: return "not readable as text (UTF-8)"
        case .fileWriteFileExists: return "already exists"
        case .fileReadTooLarge: return "too large to read"
        case .fileWriteVolumeReadOnly: return "read-only file system"
        default: return nil
        }
    }
}
