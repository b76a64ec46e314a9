#if canImport(Glibc)
    import Glibc
#endif

/// Large buffers filled once and read many times (the columns of a dataset) are better backed by 2 MiB
/// pages: one page fault instead of 512. Linux with transparent huge pages in `madvise` mode (the
/// default of most distributions) honours the advice; elsewhere it is a no-op.
public enum HugePages {
    static let size = 2 << 20

    /// Advises huge pages for the 2 MiB-aligned part of `bytes` bytes at `start`.
    public static func advise(_ start: UnsafeMutableRawPointer, bytes: Int) {
        #if canImport(Glibc)
            let address = Int(bitPattern: start)
            let first = (address + size - 1) & ~(size - 1)
            let last = (address + bytes) & ~(size - 1)
            guard last > first, let aligned = UnsafeMutableRawPointer(bitPattern: first) else { return }
            _ = madvise(aligned, last - first, Int32(MADV_HUGEPAGE))
        #endif
    }

    /// An empty array with room for `capacity` elements, huge pages advised when it is large.
    public static func reserved<T>(_ capacity: Int, of type: T.Type) -> [T] {
        [T](unsafeUninitializedCapacity: capacity) { buffer, count in
            if let base = buffer.baseAddress, capacity * MemoryLayout<T>.stride >= 2 * size {
                advise(UnsafeMutableRawPointer(base), bytes: capacity * MemoryLayout<T>.stride)
            }
            count = 0
        }
    }
}
