using Yarp.ReverseProxy.Forwarder;

namespace Reka.Gateway;

/// <summary>
/// Everything the gateway logs, as source-generated <see cref="LoggerMessageAttribute"/> methods:
/// cheap, structured, and one place to check that no key, token or signature is ever logged.
/// </summary>
internal static partial class GatewayLog
{
    [LoggerMessage(1, LogLevel.Information, "Forwarded {Route} for {Client} (request {RequestId}): upstream {UpstreamStatus} in {DurationMs:0.0} ms")]
    public static partial void Forwarded(ILogger logger, string? client, string route, string? requestId, int upstreamStatus, double durationMs);

    [LoggerMessage(2, LogLevel.Warning, "Forwarding {Route} for {Client} (request {RequestId}) failed: {Error}, answered {Status} after {DurationMs:0.0} ms: {Reason}")]
    public static partial void ForwardingFailed(ILogger logger, string? client, string route, string? requestId, ForwarderError error, int status, double durationMs, string? reason);

    [LoggerMessage(3, LogLevel.Information, "Retrying upstream call (attempt {Attempt}) after status {UpstreamStatus} {Exception}, in {DelayMs:0} ms")]
    public static partial void RetryingUpstream(ILogger logger, int attempt, int upstreamStatus, string? exception, double delayMs);
}
