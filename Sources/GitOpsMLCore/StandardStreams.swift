@preconcurrency import Foundation

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Darwin)
    @preconcurrency import Darwin
#endif

/// Standard output and error that fail like files, never like signals: a closed or broken stream makes
/// the process exit 3 with one line (where one can still be written), never SIGPIPE, never a trap, never
/// exit 0. `prepare()` runs first thing: SIGPIPE is ignored (a write to a reader that left fails with
/// EPIPE instead), and a descriptor 1 or 2 that was closed (`>&-`) is taken by a pipe with no reader, so
/// that nothing the process opens later can land on it and every write to it fails.
public enum StandardStreams {
    nonisolated(unsafe) static var errorFailure: Int32 = 0

    public static func prepare() {
        signal(SIGPIPE, SIG_IGN)
        if fcntl(STDIN_FILENO, F_GETFD) == -1 && errno == EBADF {
            let null = open("/dev/null", O_RDONLY)
            if null != STDIN_FILENO && null >= 0 {
                dup2(null, STDIN_FILENO)
                close(null)
            }
        }
        for descriptor in [STDOUT_FILENO, STDERR_FILENO] where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else { continue }
            close(ends[0])  // no reader: every write fails with EPIPE
            if ends[1] != descriptor {
                dup2(ends[1], descriptor)
                close(ends[1])
            }
        }
    }

    /// Writes to standard error; a failure is remembered for `finish`.
    public static func writeError(_ text: String) {
        var bytes = Array(text.utf8)
        let failed = bytes.withUnsafeMutableBytes { buffer -> Int32 in
            var offset = 0
            while offset < buffer.count {
                let count = write(STDERR_FILENO, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return errno == 0 ? EIO : errno }
                offset += count
            }
            return 0
        }
        if failed != 0 && errorFailure == 0 { errorFailure = failed }
    }

    /// Flushes standard output, remembering the first failure's cause for `finish`.
    public static func flushOutput() {
        let output = stdout
        errno = 0
        if fflush(output) != 0 && outputFailure == 0 { outputFailure = errno == 0 ? EIO : errno }
    }

    nonisolated(unsafe) static var outputFailure: Int32 = 0

    /// The exit status once everything is flushed: `status`, or 3 when standard output or error could not
    /// be written (with a line saying so on standard error when it still works).
    public static func finish(_ status: ExitStatus) -> ExitStatus {
        flushOutput()
        if outputFailure == 0 && ferror(stdout) != 0 { outputFailure = EIO }
        if outputFailure != 0 {
            writeError(
                "gitops-ml: error: cannot write to standard output: \(String(cString: strerror(outputFailure)))\n")
            return .environment
        }
        return errorFailure != 0 ? .environment : status
    }
}
