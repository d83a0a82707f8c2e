import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Installing handlers

/// Registered signal callbacks; `cancel()` unregisters them. The server also keeps a
/// reference, so discarding the returned value is fine.
public final class SignalHandlers: Sendable {
    private let tokens: [UInt64]

    init(tokens: [UInt64]) { self.tokens = tokens }

    public func cancel() { tokens.forEach { SignalRouter.shared.unregister($0) } }
}

extension HTTPServer {

    /// Turns SIGTERM/SIGINT into a graceful shutdown: `onSignal` runs first (flip a
    /// readiness probe, log), then the server starts draining and shuts down with
    /// `gracePeriod` to finish in-flight requests.
    ///
    /// Signals are received with dispatch signal sources, so the work runs on a normal
    /// queue where taking locks and starting tasks is allowed (see `SignalRouter` for
    /// the Linux specifics).
    @discardableResult
    public func installSignalHandlers(signals: [Int32] = [SIGTERM, SIGINT], gracePeriod: Duration = .seconds(10),
                                      onSignal: (@Sendable (Int32) -> Void)? = nil) -> SignalHandlers {
        let tokens = signals.map { signo in
            SignalRouter.shared.register(signo) { [self] signo in
                logger.notice("received signal; shutting down", metadata: ["signal": "\(signo)"])
                onSignal?(signo)
                beginShutdownNow()
                Task { await self.shutdown(gracePeriod: gracePeriod) }
            }
        }
        let handlers = SignalHandlers(tokens: tokens)
        retainSignalHandlers(handlers)
        return handlers
    }
}

// MARK: - SignalRouter

/// Process-wide fan-out of signals to registered callbacks.
///
/// On Linux, libdispatch reads signals from a `signalfd`, which only sees a signal that
/// every thread blocks; dispatch's own threads do, but threads started by Foundation
/// (`Process`, `Thread`) do not, and the kernel delivers the signal to one of those,
/// where the default action would kill the process. So on Linux a `sigaction` handler
/// is installed too: it writes the signal number to a pipe (async-signal-safe) that a
/// dispatch read source drains. Each signal is seen by exactly one of the two paths.
final class SignalRouter: Sendable {
    static let shared = SignalRouter()

    /// What `state` guards: callbacks by signal and token, and the sources kept alive.
    private struct State {
        var callbacks: [Int32: [UInt64: @Sendable (Int32) -> Void]] = [:]
        var nextToken: UInt64 = 0
        var installed: Set<Int32> = []
        var sources: [any DispatchSourceProtocol] = []
    }

    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "vaeguard.http.signals")

    func register(_ signo: Int32, _ callback: @escaping @Sendable (Int32) -> Void) -> UInt64 {
        state.withLock { state in
            state.nextToken += 1
            state.callbacks[signo, default: [:]][state.nextToken] = callback
            if state.installed.insert(signo).inserted { install(signo, into: &state) }
            return state.nextToken
        }
    }

    func unregister(_ token: UInt64) {
        state.withLock { state in
            for signo in state.callbacks.keys { state.callbacks[signo]?[token] = nil }
        }
    }

    private func deliver(_ signo: Int32) {
        let targets = state.withLock { Array(($0.callbacks[signo] ?? [:]).values) }
        targets.forEach { $0(signo) }
    }

    /// Called from inside `state.withLock`.
    private func install(_ signo: Int32, into state: inout State) {
        let source = DispatchSource.makeSignalSource(signal: signo, queue: queue)
        source.setEventHandler { [self] in deliver(signo) }
        source.resume()
        state.sources.append(source)
        #if os(Linux)
        installPipeIfNeeded(into: &state)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = forwardSignalToPipe
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        sigaction(signo, &action, nil)
        #else
        // kqueue's EVFILT_SIGNAL sees signals even when ignored; ignoring stops the default action.
        signal(signo, SIG_IGN)
        #endif
    }

    #if os(Linux)
    private func installPipeIfNeeded(into state: inout State) {
        guard signalPipeWriteEnd.load(ordering: .acquiring) < 0 else { return }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        let readEnd = fds[0]
        let source = DispatchSource.makeReadSource(fileDescriptor: readEnd, queue: queue)
        source.setEventHandler { [self] in
            var bytes = [UInt8](repeating: 0, count: 64)
            while true {
                let n = read(readEnd, &bytes, bytes.count)
                guard n > 0 else { break }
                bytes[0..<n].forEach { deliver(Int32($0)) }
            }
        }
        source.resume()
        state.sources.append(source)
        signalPipeWriteEnd.store(fds[1], ordering: .releasing)
    }
    #endif
}

#if os(Linux)
/// Write end of the signal pipe; set once, before any handler that reads it is installed.
/// A lock-free atomic load is async-signal-safe, so the handler may read it.
private let signalPipeWriteEnd = Atomic<Int32>(-1)

/// The `sigaction` handler: only async-signal-safe calls (`write`), errno preserved.
private func forwardSignalToPipe(_ signo: Int32) {
    let savedErrno = errno
    var byte = UInt8(truncatingIfNeeded: signo)
    _ = write(signalPipeWriteEnd.load(ordering: .acquiring), &byte, 1)
    errno = savedErrno
}
#endif
