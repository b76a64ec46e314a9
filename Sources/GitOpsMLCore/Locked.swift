import Synchronization

/// A value behind the standard library's `Synchronization.Mutex`, shared by reference: for a lock captured by
/// escaping closures (threads, dispatch blocks), which a noncopyable `Mutex` cannot be, or guarding values
/// that are not `Sendable` (raw buffers). Everywhere else the code uses `Synchronization.Mutex` itself.
public final class Locked<Value>: @unchecked Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: sending Value) { mutex = Mutex(value) }

    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        // The body runs under the lock; what it returns leaves it (as with NSLock, which this replaced).
        try withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            return try mutex.withLock { value throws -> Unchecked<R> in Unchecked(try body(&value)) }.value
        }
    }
}

/// A result handed out of the lock's region.
private struct Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
