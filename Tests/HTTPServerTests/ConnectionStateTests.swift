import Testing
@testable import HTTPServer

// MARK: - Helpers

private let second: UInt64 = 1_000_000_000

/// A connection state accepted at t = 0, with `configure` applied to the server configuration.
private func makeState(admission: Connection.Admission = .normal, budget: Int = 1 << 30,
                       _ configure: (inout HTTPServer.Configuration) -> Void = { _ in }) -> ConnectionState {
    var config = HTTPServer.Configuration()
    configure(&config)
    return ConnectionState(config: config, admission: admission, budget: MemoryBudget(limit: budget), now: 0)
}

private extension ConnectionState {
    /// Bytes arrive and the read pass ends, as `Connection.onReadable` does it.
    mutating func read(_ text: String, now: UInt64 = 0) -> [ConnectionAction] {
        received(Array(text.utf8), now: now) + readPassEnded(now: now)
    }

    /// Plays the writer: takes every queued byte (the socket accepts all of it). Returns
    /// what was written and the actions the transitions produced.
    mutating func drain(now: UInt64 = 0) -> (text: String, actions: [ConnectionAction]) {
        var written: [UInt8] = []
        var actions: [ConnectionAction] = []
        while true {
            let (output, more) = nextOutput(writer: writer, now: now)
            actions += more
            guard let output else { break }
            let n = output.bytes.count - output.offset
            written += output.bytes[output.offset...]
            actions += recordWrite(.bytes(n), now: now)
        }
        return (String(decoding: written, as: UTF8.self), actions)
    }

    /// Answers the running request with `body` (200, or the status given).
    mutating func answer(_ parsed: ParsedRequest, keepAlive: Bool = true, body: String = "ok",
                         now: UInt64 = 0) -> [ConnectionAction] {
        let request = HTTPRequest(method: parsed.head.method, target: parsed.head.target, version: parsed.head.version,
                                  headers: parsed.head.headers, body: parsed.body, requestID: "r")
        return respond(HTTPResponse(status: .ok, body: Array(body.utf8)), body: Array(body.utf8), for: request,
                       keepAlive: keepAlive, now: now).actions
    }
}

private func dispatched(_ actions: [ConnectionAction]) -> [ParsedRequest] {
    actions.compactMap { if case .dispatch(let request, _, _) = $0 { request } else { nil } }
}

private func wantsWrite(_ actions: [ConnectionAction]) -> Bool {
    actions.contains { if case .write = $0 { true } else { false } }
}

private func shutsDownWrite(_ actions: [ConnectionAction]) -> Bool {
    actions.contains { if case .shutdownWrite = $0 { true } else { false } }
}

private func closes(_ actions: [ConnectionAction]) -> Bool { actions.contains { $0.isClosed } }

private let get = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"

// MARK: - Keep-alive and pipelining

@Suite("Connection state machine")
struct ConnectionStateTests {

    @Test func keepAlive_secondRequestDispatchedAfterFirstResponse() throws {
        var state = makeState()
        let first = dispatched(state.read(get))
        #expect(first.count == 1)
        #expect(state.busy)
        let actions = state.answer(try #require(first.first))
        #expect(wantsWrite(actions))
        #expect(!state.busy)
        let (text, _) = state.drain()
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("Connection: keep-alive\r\n"))
        #expect(text.hasSuffix("\r\n\r\nok"))
        #expect(state.lifecycle == .open)
        #expect(dispatched(state.read(get, now: second)).count == 1)
    }

    @Test func pipelinedRequests_runOneAtATimeInOrder() throws {
        var state = makeState()
        let requests = (1...3).map { "GET /\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined()
        let first = dispatched(state.read(requests))
        #expect(first.map(\.head.target) == ["/1"])
        #expect(state.backlog.count == 2)
        let second = dispatched(state.answer(first[0]))
        #expect(second.map(\.head.target) == ["/2"])
        let third = dispatched(state.answer(second[0]))
        #expect(third.map(\.head.target) == ["/3"])
        _ = state.answer(third[0])
        let (text, _) = state.drain()
        #expect(text.components(separatedBy: "HTTP/1.1 200 OK").count == 4)
    }

    @Test func pipeliningCap_pausesReadingUntilTheBacklogShrinks() throws {
        var state = makeState { $0.maxPipelinedRequests = 2 }
        let requests = (1...5).map { "GET /\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined()
        let first = dispatched(state.read(requests))
        // One running, two queued; the rest stays unparsed in the parser's buffer.
        #expect(state.backlog.count == 2)
        #expect(!state.canAcceptMore)
        #expect(state.readPaused)
        let next = dispatched(state.answer(first[0]))
        #expect(next.map(\.head.target) == ["/2"])
        // Room again: the buffered request is parsed without a readiness event.
        #expect(state.backlog.count == 2)
        #expect(state.requestsParsed == 4)
    }

    @Test func connectionClose_lingersAfterTheResponse() throws {
        var state = makeState()
        let request = try #require(dispatched(state.read("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).first)
        _ = state.answer(request, keepAlive: request.head.keepAlive)
        #expect(state.lifecycle == .closingAfterFlush)
        let (text, actions) = state.drain(now: 5)
        #expect(text.contains("Connection: close\r\n"))
        #expect(shutsDownWrite(actions))
        #expect(state.lifecycle == .lingering(deadline: 5 + 2 * second))
        #expect(!state.readPaused)
        #expect(closes(state.checkTimeouts(now: 5 + 3 * second)))
        #expect(state.lifecycle == .closed)
    }

    // MARK: - Timeouts per phase

    @Test func idleKeepAlive_closesAfterIdleTimeout() throws {
        var state = makeState { $0.idleTimeout = .seconds(3) }
        _ = state.answer(try #require(dispatched(state.read(get)).first))
        _ = state.drain()
        #expect(!closes(state.checkTimeouts(now: 2 * second)))
        #expect(closes(state.checkTimeouts(now: 4 * second)))
    }

    @Test func silentConnection_closesAtHeaderTimeoutWithoutAResponse() {
        var state = makeState { $0.headerTimeout = .seconds(1) }
        #expect(!closes(state.checkTimeouts(now: second / 2)))
        let actions = state.checkTimeouts(now: 2 * second)
        #expect(closes(actions))
        #expect(!wantsWrite(actions))
    }

    @Test func partialHead_isAnswered408() {
        var state = makeState { $0.headerTimeout = .seconds(1) }
        _ = state.read("GET / HTTP/1.1\r\nHo")
        let actions = state.checkTimeouts(now: 2 * second)
        #expect(wantsWrite(actions))
        #expect(actions.contains { if case .logFailure(status: 408) = $0 { true } else { false } })
        #expect(state.lifecycle == .closingAfterFlush)
        #expect(state.drain().text.hasPrefix("HTTP/1.1 408 "))
    }

    @Test func slowBody_isAnswered408AfterBodyTimeout() throws {
        var state = makeState { $0.bodyTimeout = .seconds(2); $0.headerTimeout = .seconds(1) }
        _ = state.answer(try #require(dispatched(state.read(get)).first))
        _ = state.drain()
        _ = state.read("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc", now: second)
        #expect(state.phase == .body)
        // The header timeout does not apply to a body, and the body has 2 s from its start.
        #expect(state.checkTimeouts(now: 2 * second).isEmpty)
        let actions = state.checkTimeouts(now: 4 * second)
        #expect(wantsWrite(actions))
        #expect(state.drain().text.contains("timed out waiting for the request body"))
    }

    @Test func stalledTLSHandshake_closesAtTheHandshakeTimeout() {
        var config = HTTPServer.Configuration()
        config.tlsHandshakeTimeout = .seconds(1)
        var state = ConnectionState(config: config, isSecure: true, budget: MemoryBudget(limit: 1 << 20), now: 0)
        _ = state.readPassEnded(now: 0, tlsHandshakeComplete: false)
        #expect(!closes(state.checkTimeouts(now: second / 2)))
        let actions = state.checkTimeouts(now: 2 * second)
        #expect(closes(actions))
        #expect(!wantsWrite(actions))
    }

    @Test func readiness_pausesWhileClosingAndDiscardsWhileLingering() throws {
        var state = makeState()
        _ = state.answer(try #require(dispatched(state.read(get)).first), keepAlive: false)
        #expect(state.readableEvent() == .ignore)
        #expect(state.readPaused)
        _ = state.drain()
        #expect(state.readableEvent() == .discard)
        #expect(!state.readPaused)
        _ = state.closeNow()
        #expect(state.readableEvent() == .ignore)
    }

    @Test func stalledWrite_closesAfterWriteTimeout() throws {
        var state = makeState { $0.writeTimeout = .seconds(1) }
        _ = state.answer(try #require(dispatched(state.read(get)).first))
        let (output, _) = state.nextOutput(writer: state.writer, now: 0)
        #expect(output != nil)
        _ = state.recordWrite(.wouldBlock, now: 0)
        #expect(state.wantsWritable)
        #expect(!closes(state.checkTimeouts(now: second / 2)))
        #expect(closes(state.checkTimeouts(now: 2 * second)))
        #expect(!state.wantsWritable)
    }

    // MARK: - Draining

    @Test func drain_closesAnIdleConnectionAtOnce() {
        var state = makeState()
        #expect(closes(state.beginDrain()))
    }

    @Test func drain_busyConnectionClosesAfterItsResponse() throws {
        var state = makeState()
        let request = try #require(dispatched(state.read(get)).first)
        #expect(!closes(state.beginDrain()))
        _ = state.answer(request)
        let (text, actions) = state.drain()
        #expect(text.contains("Connection: close\r\n"))
        #expect(shutsDownWrite(actions))
    }

    // MARK: - 100-continue

    @Test func expectContinue_isAnsweredBeforeTheBody() throws {
        var state = makeState()
        let actions = state.read("POST /u HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        #expect(wantsWrite(actions))
        #expect(state.drain().text == "HTTP/1.1 100 Continue\r\n\r\n")
        let request = try #require(dispatched(state.read("hi")).first)
        #expect(request.body == Array("hi".utf8))
    }

    @Test func expectContinue_waitsForTheRunningRequest() throws {
        var state = makeState()
        let first = try #require(dispatched(state.read(get)).first)
        _ = state.read("POST /u HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        #expect(state.continuePending)
        #expect(state.unsentBytes == 0)
        _ = state.answer(first)
        #expect(!state.continuePending)
        #expect(state.drain().text.hasSuffix("ok" + "HTTP/1.1 100 Continue\r\n\r\n"))
    }

    // MARK: - Errors

    @Test func malformedRequest_isAnsweredThenClosed() {
        var state = makeState()
        let actions = state.read("BAD\r\n\r\n")
        #expect(dispatched(actions).isEmpty)
        #expect(actions.contains { if case .logFailure(status: 400) = $0 { true } else { false } })
        #expect(state.lifecycle == .closingAfterFlush)
        #expect(state.readPaused)
        let (text, after) = state.drain()
        #expect(text.hasPrefix("HTTP/1.1 400 "))
        #expect(text.contains("Connection: close\r\n"))
        #expect(shutsDownWrite(after))
    }

    @Test func writeFailure_closesAndCancelsNothingTwice() throws {
        var state = makeState()
        _ = state.answer(try #require(dispatched(state.read(get)).first))
        _ = state.nextOutput(writer: state.writer, now: 0)
        let actions = state.recordWrite(.eof, now: 0)
        #expect(closes(actions))
        #expect(state.closeNow().isEmpty)
        #expect(state.nextOutput(writer: state.writer, now: 0).0 == nil)
    }

    @Test func peerEOF_cancelsTheHandlerAndClosesAfterTheResponse() throws {
        var state = makeState()
        let request = try #require(dispatched(state.read(get)).first)
        let task = Task<Void, Never> {}
        let cancelAtOnce = state.handlerStarted(task, generation: 1)
        #expect(!cancelAtOnce)
        let actions = state.inputEnded()
        #expect(actions.contains { if case .cancelHandler = $0 { true } else { false } })
        _ = state.answer(request)
        let (_, after) = state.drain()
        #expect(closes(after))
        #expect(!shutsDownWrite(after))
    }

    @Test func budgetExhausted_isAnswered503() {
        var state = makeState(budget: 4)
        let actions = state.read("POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        #expect(actions.contains { if case .logBudgetExhausted = $0 { true } else { false } })
        #expect(state.lifecycle == .closingAfterFlush)
        #expect(state.heldBytes == 0)
        #expect(state.drain().text.hasPrefix("HTTP/1.1 503 "))
    }

    @Test func overLimitConnection_servesProbesOnly() throws {
        var state = makeState(admission: .overflow(servesProbes: true))
        let probe = try #require(dispatched(state.read("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")).first)
        _ = state.answer(probe, keepAlive: false)
        #expect(state.drain().text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        var other = makeState(admission: .overflow(servesProbes: true))
        #expect(dispatched(other.read(get)).isEmpty)
        #expect(other.drain().text.hasPrefix("HTTP/1.1 503 "))
    }

    // MARK: - Back-pressure

    @Test func unreadResponses_holdTheNextRequestUntilTheClientReads() throws {
        var state = makeState { $0.maxUnsentResponseBytes = 16 }
        let first = dispatched(state.read(get + get))
        _ = state.answer(first[0], body: String(repeating: "x", count: 100))
        // Over the cap: the second request waits, and reading pauses.
        #expect(state.unsentBytes > 16)
        #expect(!state.canAcceptMore)
        #expect(!state.busy)
        #expect(state.backlog.count == 1)
        let (output, _) = state.nextOutput(writer: state.writer, now: 0)
        let written = try #require(output).bytes.count
        let after = state.recordWrite(.bytes(written), now: 0)
        #expect(dispatched(after).count == 1)
    }

    @Test func streamingWriter_waitsAboveTheHighWaterMarkAndFailsOnClose() async throws {
        var state = makeState()
        let first = try #require(dispatched(state.read(get)).first)
        let request = HTTPRequest(method: .get, target: first.head.target, requestID: "r")
        let plan = state.beginStream(HTTPResponse(status: .ok), for: request, keepAlive: true, now: 0).plan
        #expect(try #require(plan).chunked)
        _ = state.appendChunk([UInt8](repeating: 1, count: ConnectionState.highWaterMark + 1), chunked: true, now: 0)
        #expect(state.mustWaitForRoom == true)
        var registered = false
        var thrown: (any Error)?
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                registered = state.waitForRoom(continuation).isEmpty
                for case .resumeWriters(let waiters, let closed) in state.closeNow() {
                    for waiter in waiters {
                        if closed { waiter.resume(throwing: ConnectionClosedError()) } else { waiter.resume() }
                    }
                }
            }
        } catch {
            thrown = error
        }
        #expect(registered)
        #expect(thrown is ConnectionClosedError)
    }

    @Test func blockedWriter_takesNothingOnceTheNextWriterIsHandedOut() throws {
        var state = makeState()
        _ = state.answer(try #require(dispatched(state.read(get)).first))
        let first = state.writer
        #expect(state.nextOutput(writer: first, now: 0).0 != nil)
        _ = state.recordWrite(.wouldBlock, now: 0)
        #expect(state.wantsWritable)
        let actions = state.socketWritable(now: 0)
        guard case .write(let second)? = actions.first else { Issue.record("no writer handed out: \(actions)"); return }
        #expect(second != first)
        #expect(state.nextOutput(writer: first, now: 0).0 == nil)
        #expect(state.writerActive)
        #expect(state.nextOutput(writer: second, now: 0).0 != nil)
    }

    @Test func handlerTaskRecordedLate_isCancelledWhenTheConnectionClosed() {
        var state = makeState()
        _ = state.read(get)
        _ = state.closeNow()
        let cancelAtOnce = state.handlerStarted(Task<Void, Never> {}, generation: 1)
        #expect(cancelAtOnce)
    }
}
