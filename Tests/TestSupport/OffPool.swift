import Foundation

/// Runs blocking work on a plain thread: the cooperative pool has only as many threads
/// as cores, and a blocked test thread must never starve the server's handlers.
public func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}
