import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Signal handling

/// Keeps the signal sources alive; `cancel()` removes them.
public final class SignalHandlers: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(sources: [any DispatchSourceSignal]) { self.sources = sources }

    public func cancel() { sources.forEach { $0.cancel() } }
}

extension HTTPServer {

    /// Turns SIGTERM/SIGINT into a graceful shutdown.
    ///
    /// Uses dispatch signal sources (not `signal(2)` handlers) so the work runs on a normal
    /// queue where taking locks and starting tasks is allowed.
    /// `onSignal` runs first, e.g. to flip a readiness probe or log.
    @discardableResult
    public func installSignalHandlers(signals: [Int32] = [SIGTERM, SIGINT], gracePeriod: Duration = .seconds(10),
                                      onSignal: (@Sendable (Int32) -> Void)? = nil) -> SignalHandlers {
        let sources = signals.map { signo -> any DispatchSourceSignal in
            #if canImport(Darwin)
            // kqueue delivers signals alongside (and below) sigaction, so ignore the default
            // action. On Linux libdispatch reads a signalfd and installs its own handler;
            // SIG_IGN there would make the kernel discard the signal before it is read.
            signal(signo, SIG_IGN)
            #endif
            let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
            source.setEventHandler { [self] in
                logger.notice("received signal; shutting down", metadata: ["signal": "\(signo)"])
                onSignal?(signo)
                beginDraining()
                Task { await self.shutdown(gracePeriod: gracePeriod) }
            }
            source.resume()
            return source
        }
        let handlers = SignalHandlers(sources: sources)
        retainSignalHandlers(handlers)
        return handlers
    }
}
