using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Reka.Gateway.Subscriptions;

/// <summary>
/// Where webhook deliveries may go (section <c>Webhooks</c>, beside the callback settings): the
/// one rule for subscriptions, a submit's own <c>webhook_url</c> and each delivery attempt.
/// </summary>
public sealed class SubscriberUrlOptions : IValidatableObject
{
    internal const string SectionName = "Webhooks";

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

    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        foreach (var entry in AllowedSubscriberHosts.Where(entry => AllowedSubscriberHost.Parse(entry) is null))
        {
            yield return new($"Webhooks:AllowedSubscriberHosts entry '{entry}' is not host, host:port, *.suffix or *.suffix:port " +
                "(port 1-65535, or * for any port, for local setups; IPv6 in brackets).");
        }
    }
}

[OptionsValidator]
internal sealed partial class SubscriberUrlOptionsValidator : IValidateOptions<SubscriberUrlOptions>;
