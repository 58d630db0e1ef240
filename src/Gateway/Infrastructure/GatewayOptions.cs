using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure.Validation;

namespace Reka.Gateway.Infrastructure;

/// <summary>Settings of the gateway itself (section <c>Gateway</c>).</summary>
public sealed class GatewayOptions
{
    internal const string SectionName = "Gateway";

    /// <summary>
    /// The gateway's own public base URL (scheme, host, optional path), e.g.
    /// <c>https://reka-gateway.internal.example</c>. Upstream URLs in answers are rewritten to it,
    /// and Reka's callbacks are sent to it.
    /// </summary>
    [HttpUrl]
    public string PublicBaseUrl { get; set; } = "http://127.0.0.1:8080";

    /// <summary>
    /// Event streams (<c>GET /events</c>, the console's live stream) one client may hold open at
    /// once on each replica; one more is 429. The rate limit counts only a stream's start, and
    /// each open stream holds a connection and a buffer of up to 1,024 events.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxStreamsPerClient { get; set; } = 16;
}

[OptionsValidator]
internal sealed partial class GatewayOptionsValidator : IValidateOptions<GatewayOptions>;
