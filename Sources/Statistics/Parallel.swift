import Dispatch
import Foundation

/// The package's one parallel loop: independent items computed on every core, results in index order.
public enum Parallel {
    /// `body(0)…body(count - 1)` on all cores, in contiguous chunks (a few per core, so that uneven items
    /// balance and cheap ones do not pay a dispatch each); the results in index order. Each item writes only
    /// its own slot, so no lock is taken. If items throw, the error of the first of them by index is thrown.
    public static func map<T, E: Error>(_ count: Int, _ body: (Int) throws(E) -> T) throws(E) -> [T] {
        guard count > 1 else { return count == 1 ? [try body(0)] : [] }
        let slots = UnsafeMutableBufferPointer<Result<T, E>?>.allocate(capacity: count)
        slots.initialize(repeating: nil)
        defer {
            _ = slots.deinitialize()
            slots.deallocate()
        }
        let chunks = min(count, ProcessInfo.processInfo.activeProcessorCount * 4)
        withoutActuallyEscaping(body) { body in
            let shared = Shared(body: body, slots: slots)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                for index in (count * chunk / chunks)..<(count * (chunk + 1) / chunks) {
                    do throws(E) {
                        shared.slots[index] = .success(try shared.body(index))
                    } catch {
                        shared.slots[index] = .failure(error)
                    }
                }
            }
        }
        var results: [T] = []
        results.reserveCapacity(count)
        for slot in slots {
            guard let slot else { preconditionFailure("Parallel.map: an item was not computed") }
            results.append(try slot.get())
        }
        return results
    }

    /// The closure and the slots, shared by the workers; each worker touches disjoint slots only.
    private struct Shared<T, E: Error>: @unchecked Sendable {
        let body: (Int) throws(E) -> T
        let slots: UnsafeMutableBufferPointer<Result<T, E>?>
    }
}
