namespace Reka.Simulator.Webhooks;

/// <summary>
/// What the simulator POSTs to a job's <c>webhook_url</c> when it ends. Reka does not publish its
/// payload; receivers are expected to confirm the outcome by fetching the request.
/// </summary>
public sealed record WebhookPayload(string RequestId, string Status, string EndpointId, DateTime? CompletedAt);

/// <summary>One delivery attempt, as <c>GET /_simulator/requests/{id}</c> shows it.</summary>
/// <remarks>
/// <para><c>status_code</c>: The receiver's HTTP status; null when no answer came.</para>
/// <para><c>error</c>: Why no answer came (connection error, timeout); null otherwise.</para>
/// </remarks>
public sealed record WebhookAttempt(DateTime At, int? StatusCode, string? Error);
