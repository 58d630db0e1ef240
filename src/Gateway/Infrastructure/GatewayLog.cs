using Yarp.ReverseProxy.Forwarder;
using ZLogger;

namespace Reka.Gateway;

/// <summary>
/// Everything the gateway logs, as source-generated <see cref="LoggerMessageAttribute"/> methods:
/// cheap, structured, and one place to check that no key, token or signature is ever logged.
/// </summary>
internal static partial class GatewayLog
{
    // Proxy (1-99)
    // The access log, one line per forwarded call: ZLogger's generator formats it without allocating.
    [ZLoggerMessage(1, LogLevel.Information, "Forwarded {Route} for {Client} (request {RequestId}): upstream {UpstreamStatus} in {DurationMs:0.0} ms")]
    public static partial void Forwarded(ILogger logger, string? client, string route, string? requestId, int upstreamStatus, double durationMs);

    [LoggerMessage(2, LogLevel.Warning, "Forwarding {Route} for {Client} (request {RequestId}) failed: {Error}, answered {Status} after {DurationMs:0.0} ms: {Reason}")]
    public static partial void ForwardingFailed(ILogger logger, string? client, string route, string? requestId, ForwarderError error, int status, double durationMs, string? reason);

    [LoggerMessage(3, LogLevel.Information, "Retrying upstream call (attempt {Attempt}) after status {UpstreamStatus} {Exception}, in {DelayMs:0} ms")]
    public static partial void RetryingUpstream(ILogger logger, int attempt, int upstreamStatus, string? exception, double delayMs);

    // Inference (100-199)
    [LoggerMessage(101, LogLevel.Warning, "Request {RequestId} accepted upstream but not bound to its submission ({Reason}); its callback or the submission's check will bind it")]
    public static partial void SubmissionNotBound(ILogger logger, string requestId, string? reason);

    [LoggerMessage(109, LogLevel.Warning, "Request {RequestId} bound to its submission, but the look planned at it was not confirmed ({Reason}); the submission's check stays and does its work")]
    public static partial void SubmissionCheckKept(ILogger logger, string requestId, string reason);

    [LoggerMessage(103, LogLevel.Information, "Request {RequestId} submitted by {Client} (submission {SubmissionId})")]
    public static partial void Submitted(ILogger logger, string client, string requestId, string submissionId);

    [LoggerMessage(104, LogLevel.Warning, "Submit by {Client} answered 409: Reka answered it with a request of another client")]
    public static partial void SubmitAnsweredWithAnotherClientsRequest(ILogger logger, string client);

    [LoggerMessage(105, LogLevel.Warning, "Submission {SubmissionId} checked after its submit could not finish its own steps: request {RequestId}, {Outcome}")]
    public static partial void SubmissionChecked(ILogger logger, string submissionId, string? requestId, string outcome);

    [LoggerMessage(106, LogLevel.Information, "Check of submission {SubmissionId} retried in {DelaySeconds:0.#} s (try {Try}): {Reason}")]
    public static partial void SubmissionCheckRetrying(ILogger logger, string submissionId, double delaySeconds, int @try, string reason);

    [LoggerMessage(107, LogLevel.Error, "Check of submission {SubmissionId} abandoned after {Tries} tries: {Reason}. Its callback, if Reka sends one, still binds it.")]
    public static partial void SubmissionCheckAbandoned(ILogger logger, string submissionId, int tries, string reason);

    [LoggerMessage(108, LogLevel.Warning, "The check planned for submission {SubmissionId} could not be removed ({Error}); when it runs it may send the submit upstream under its Idempotency-Key")]
    public static partial void SubmissionCheckNotRemoved(ILogger logger, string submissionId, string? error);

    [LoggerMessage(102, LogLevel.Warning, "Terminal answer of request {RequestId} not cached ({Error})")]
    public static partial void CacheStoreFailed(ILogger logger, string requestId, string? error);

    // Webhooks (200-299)
    [LoggerMessage(200, LogLevel.Warning, "Callback for request {RequestId} answered 503: Redis could not record it ({Error})")]
    public static partial void CallbackNotRecorded(ILogger logger, string requestId, string? error);

    [LoggerMessage(201, LogLevel.Information, "Callback for request {RequestId} processed: {Status}, event {EventId}")]
    public static partial void CallbackProcessed(ILogger logger, string requestId, string status, string eventId);

    [LoggerMessage(202, LogLevel.Information, "Callback for request {RequestId} retried in {DelaySeconds:0.#} s (try {Try}): {Reason}")]
    public static partial void CallbackRetrying(ILogger logger, string requestId, double delaySeconds, int @try, string reason);

    [LoggerMessage(203, LogLevel.Error, "Callback for request {RequestId} abandoned after {Tries} tries: {Reason}. A new callback from Reka will start over.")]
    public static partial void CallbackAbandoned(ILogger logger, string requestId, int tries, string reason);

    // Delivery (300-399)
    // Successful attempts are the bulk (thousands a second under load): metrics count them and
    // the delivery's record lists them; the log line is for debugging. Failures stay visible.
    [LoggerMessage(300, LogLevel.Debug, "Delivery {DeliveryId} of event {EventId}, attempt {Attempt}: {Outcome} (HTTP {Status}) in {DurationMs:0.0} ms")]
    public static partial void DeliverySucceeded(ILogger logger, string deliveryId, string? eventId, int attempt, int status, string outcome, double durationMs);

    [LoggerMessage(304, LogLevel.Information, "Delivery {DeliveryId} of event {EventId}, attempt {Attempt}: {Outcome} (HTTP {Status}) in {DurationMs:0.0} ms")]
    public static partial void DeliveryFailed(ILogger logger, string deliveryId, string? eventId, int attempt, int status, string outcome, double durationMs);

    [LoggerMessage(301, LogLevel.Warning, "Delivery {DeliveryId} of event {EventId} to subscription {SubscriptionId} is a dead letter: every attempt failed")]
    public static partial void DeliveryDeadLettered(ILogger logger, string deliveryId, string? eventId, string? subscriptionId);

    [LoggerMessage(303, LogLevel.Debug, "Event {EventId} fanned out: {Deliveries} new deliveries")]
    public static partial void FannedOut(ILogger logger, string eventId, int deliveries);

    [LoggerMessage(302, LogLevel.Warning, "Subscription {SubscriptionId} disabled: {Reason}")]
    public static partial void SubscriptionDisabled(ILogger logger, string subscriptionId, string reason);

    [LoggerMessage(305, LogLevel.Information, "Subscription {SubscriptionId} enabled by {Client}")]
    public static partial void SubscriptionEnabled(ILogger logger, string subscriptionId, string client);

    // Queues and events (400-499)
    [LoggerMessage(400, LogLevel.Warning, "Queue {Queue} unavailable: {Error}")]
    public static partial void QueueUnavailable(ILogger logger, string queue, string error);

    [LoggerMessage(401, LogLevel.Error, "Job {JobId} of queue {Queue} failed ({Exception}: {Error}); it is retried when its lease expires")]
    public static partial void JobFailed(ILogger logger, string queue, string jobId, string exception, string error);

    [LoggerMessage(405, LogLevel.Warning, "Job {JobId} of queue {Queue} put back: Redis was unavailable ({Exception})")]
    public static partial void JobDeferred(ILogger logger, string queue, string jobId, string exception);

    [LoggerMessage(406, LogLevel.Error, "Job {JobId} of queue {Queue} not put back ({Exception}: {Error}); it is retried when its lease expires")]
    public static partial void JobNotPutBack(ILogger logger, string queue, string jobId, string exception, string error);

    [LoggerMessage(402, LogLevel.Information, "Queue {Queue} stopping: {InFlight} jobs in flight get {DrainSeconds} s to finish, then are handed back")]
    public static partial void QueueDraining(ILogger logger, string queue, int inFlight, double drainSeconds);

    [LoggerMessage(403, LogLevel.Warning, "Event channel unavailable: {Error}")]
    public static partial void EventsUnavailable(ILogger logger, string error);

    [LoggerMessage(404, LogLevel.Warning, "Unreadable message on the event channel: {Error}")]
    public static partial void EventUnreadable(ILogger logger, string error);

    // Clients (600-699)
    [LoggerMessage(600, LogLevel.Warning, "API clients could not be read from Redis ({Error}); the last ones read stay in force")]
    public static partial void ClientsNotLoaded(ILogger logger, string error);

    [LoggerMessage(601, LogLevel.Information, "{Actor} {Action} client {Client}")]
    public static partial void ClientChanged(ILogger logger, string actor, string action, string client);

    // The reason is the gateway's own text (no key, unknown, expired at); never the key.
    [LoggerMessage(602, LogLevel.Information, "{Method} {Path} answered 401: {Reason}")]
    public static partial void NotAuthenticated(ILogger logger, string method, string path, string reason);

    [LoggerMessage(603, LogLevel.Information, "{Method} {Path} answered 403: client {Client} is not an admin client")]
    public static partial void Forbidden(ILogger logger, string method, string path, string? client);

    // Usage (700-799)
    [LoggerMessage(700, LogLevel.Warning, "{Counters} usage counters not written to Redis ({Error}); they are kept for the next flush")]
    public static partial void UsageNotFlushed(ILogger logger, int counters, string error);

    [LoggerMessage(701, LogLevel.Warning, "A quota reservation of {Client} could not be given back ({Error}); it frees after Usage:InFlightTimeout")]
    public static partial void QuotaNotReleased(ILogger logger, string client, string error);

    // Console (800-899): who signed in and out, never a key.
    [LoggerMessage(800, LogLevel.Information, "Console sign-in by client {Client}")]
    public static partial void ConsoleSignedIn(ILogger logger, string client);

    [LoggerMessage(801, LogLevel.Warning, "Console sign-in refused: the key is unknown, revoked or expired")]
    public static partial void ConsoleSignInRefused(ILogger logger);

    [LoggerMessage(802, LogLevel.Information, "Console sign-out by client {Client}")]
    public static partial void ConsoleSignedOut(ILogger logger, string? client);

    [LoggerMessage(803, LogLevel.Warning, "The console's first Data Protection key could not be made under the replicas' lock ({Exception}): Redis is unavailable; the next console request tries again")]
    public static partial void ConsoleKeyRingUnavailable(ILogger logger, string exception);

    // Redis (500-599): endpoints and failure kinds only, never the configuration (it may hold a password).
    [LoggerMessage(500, LogLevel.Warning, "Redis connection {Connection} to {EndPoint} failed: {FailureType}")]
    public static partial void RedisConnectionFailed(ILogger logger, string connection, string? endPoint, string failureType);

    [LoggerMessage(501, LogLevel.Information, "Redis connection {Connection} to {EndPoint} restored")]
    public static partial void RedisConnectionRestored(ILogger logger, string connection, string? endPoint);

    [LoggerMessage(503, LogLevel.Warning, "{Warning}")]
    public static partial void RedisNotDurable(ILogger logger, string warning);

    [LoggerMessage(505, LogLevel.Information, "Redis {EndPoints} keeps its writes across a restart (an append-only file or a replica), and does not evict them")]
    public static partial void RedisDurable(ILogger logger, string endPoints);

    [LoggerMessage(504, LogLevel.Information, "Whether Redis keeps its writes across a restart could not be checked: {Error}")]
    public static partial void RedisDurabilityUnknown(ILogger logger, string error);

    [LoggerMessage(502, LogLevel.Warning, "{Method} {Endpoint} answered 503: Redis unavailable ({Error})")]
    public static partial void RedisUnavailable(ILogger logger, string method, string? endpoint, string error);
}
