// MARK: - Admission

extension Connection {

    /// How the connection was let in (see `HTTPServer.admit`).
    enum Admission: Equatable, Sendable {
        /// Within `maxConnections`.
        case normal
        /// Above the limit, with its request read: a probe path is served when
        /// `servesProbes`, anything else is answered 503. TLS refusals use this too, since a
        /// TLS client can only be answered after a handshake.
        case overflow(servesProbes: Bool)
        /// Above every reserve: answered 503 at once, without reading.
        case refused
    }
}
