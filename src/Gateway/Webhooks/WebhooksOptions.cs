using Reka.Gateway.Infrastructure.Queues;

namespace Reka.Gateway.Webhooks;

/// <summary>Settings of Reka's callbacks and of webhook subscribers (section <c>Webhooks</c>).</summary>
public sealed class WebhooksOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Webhooks";

    /// <summary>
    /// Key of the HMAC that authenticates Reka's callbacks (the token in the <c>webhook_url</c> the
    /// gateway gives Reka). The same on every replica; at least 32 characters.
    /// </summary>
    public string CallbackSecret { get; set; } = "";

    /// <summary>Largest callback body accepted, in bytes (1 MiB).</summary>
    public long MaxBodyBytes { get; set; } = 1 << 20;

    /// <summary>
    /// Hosts (and ports) that webhook deliveries may go to, for subscriptions and for a submit's
    /// own <c>webhook_url</c>: <c>host</c> or <c>*.suffix</c> (<c>*.svc.cluster.local</c>), each
    /// optionally with <c>:port</c> or <c>:*</c> (any port, for local setups). Without a port only
    /// 80 and 443 are allowed. Empty: no deliveries anywhere. See <see cref="AllowedSubscriberHost"/>;
    /// entries are checked at start-up.
    /// </summary>
    public List<string> AllowedSubscriberHosts { get; set; } = [];

    /// <summary>Longest subscriber URL, in characters (Reka's limit on <c>webhook_url</c>, "Submit" reference).</summary>
    public const int MaxSubscriberUrlLength = 2083;

    /// <summary>Retry delays used when <see cref="ProcessingRetrySchedule"/> is empty (about 22 h in all).</summary>
    public static readonly IReadOnlyList<TimeSpan> DefaultProcessingRetrySchedule =
    [
        TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5),
        TimeSpan.FromMinutes(15), TimeSpan.FromHours(1), TimeSpan.FromHours(3), TimeSpan.FromHours(6), TimeSpan.FromHours(12),
    ];

    /// <summary>
    /// Delays between tries to confirm a callback with Reka (when Reka is unreachable, or does not
    /// yet report a terminal status). Empty means <see cref="DefaultProcessingRetrySchedule"/>.
    /// </summary>
    public List<TimeSpan> ProcessingRetrySchedule { get; set; } = [];

    /// <summary>The schedule in force.</summary>
    public IReadOnlyList<TimeSpan> ProcessingSchedule => ProcessingRetrySchedule.Count > 0 ? ProcessingRetrySchedule : DefaultProcessingRetrySchedule;

    /// <summary>
    /// Seconds after a submit at which the gateway asks Reka about the request itself, should its
    /// callback not have come by then (Reka does not document retrying lost callbacks). 0 turns it off.
    /// </summary>
    public double ReconcileAfterSeconds { get; set; } = 600;

    /// <summary>How each replica works the callback queue.</summary>
    public QueueWorkerOptions Processing { get; set; } = new() { MaxConcurrency = 32, LeaseSeconds = 60 };

    /// <summary>
    /// Why deliveries may not go to <paramref name="url"/>, as a clause to follow the field's name
    /// (<c>must not carry user information...</c>), or null when they may. A subscriber URL is an
    /// absolute http(s) URL of 1-<see cref="MaxSubscriberUrlLength"/> characters, without
    /// surrounding white space (which <see cref="Uri"/> would drop, keeping it in the stored URL),
    /// without user information (RFC 3986 §3.2.1: it would be stored and listed back in clear;
    /// deliveries are authenticated by their signature), on a host and port of
    /// <see cref="AllowedSubscriberHosts"/>. The reasons never repeat the URL's user information.
    /// </summary>
    public string? SubscriberUrlProblem(string url)
    {
        if (url.Length is 0 or > MaxSubscriberUrlLength || char.IsWhiteSpace(url[0]) || char.IsWhiteSpace(url[^1])
            || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.Host.Length == 0)
        {
            return $"must be an absolute http or https URL of 1-{MaxSubscriberUrlLength} characters";
        }
        if (uri.UserInfo.Length > 0)
        {
            return "must not carry user information (user:password@, RFC 3986 §3.2.1): deliveries are authenticated by their signature, and URLs are listed back in clear";
        }
        return AllowedSubscriberHosts.Select(AllowedSubscriberHost.Parse).Any(entry => entry?.Allows(uri) == true)
            ? null
            : $"names {uri.Host}:{uri.Port}, which Webhooks:AllowedSubscriberHosts does not allow (a host without a port allows 80 and 443 only)";
    }
}
