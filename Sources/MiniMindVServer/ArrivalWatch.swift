import Hummingbird
import MiniMindV
import NIOCore

/// Tells the scheduler that a request is on its way from the moment its connection is accepted:
/// a client that opens a fresh connection per request (a burst of N streams opens N) is counted
/// before its request is read, so an idle batch gathers the burst into one step (`Scheduler`;
/// Docs/Serving.md, "A burst into an idle batch"). The chat handler takes the count over when it
/// begins (`Scheduler.announce()` then `settle(connection:)`, no gap between them); other requests
/// end it (`ArrivalMiddleware`); so do the connection's close and `expiry` (a connection opened
/// and left unused, as browsers do, or a request refused before its handler).
final class ArrivalWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Any

    private let scheduler: Scheduler
    private let expiry: TimeAmount

    init(scheduler: Scheduler, expiry: TimeAmount = .milliseconds(20)) {
        self.scheduler = scheduler
        self.expiry = expiry
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let connection = ObjectIdentifier(context.channel), scheduler = self.scheduler
        scheduler.announce(connection: connection)
        ServeTrace.mark("accept conn=\(connection.hashValue)")
        context.eventLoop.scheduleTask(in: expiry) { scheduler.settle(connection: connection) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        scheduler.settle(connection: ObjectIdentifier(context.channel))
        context.fireChannelInactive()
    }
}

/// Hummingbird's basic request context and the connection the request came on (`ArrivalWatch`).
struct ServerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let connection: ObjectIdentifier

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        connection = ObjectIdentifier(source.channel)
    }
}

/// Ends the connection's arrival count for every request but a chat completion (whose handler
/// takes it over).
struct ArrivalMiddleware: RouterMiddleware {
    let scheduler: Scheduler

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        if request.uri.path != "/v1/chat/completions" { scheduler.settle(connection: context.connection) }
        return try await next(request, context)
    }
}
