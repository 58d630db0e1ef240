namespace Reka.Gateway.Infrastructure;

/// <summary>Settings of the gateway itself (section <c>Gateway</c>).</summary>
public sealed class GatewayOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Gateway";

    /// <summary>
    /// The gateway's own public base URL (scheme, host, optional path). Upstream URLs in
    /// answers are rewritten to it, and Reka's callbacks are sent to it.
    /// </summary>
    public string PublicBaseUrl { get; set; } = "http://127.0.0.1:8080";
}

/// <summary>Registration of the gateway's own settings.</summary>
public static class GatewayOptionsSetup
{
    /// <summary>Registers <see cref="GatewayOptions"/>, checked at start-up.</summary>
    public static IServiceCollection AddGatewayOptions(this IServiceCollection services)
    {
        services.AddCheckedOptions<GatewayOptions, GatewayOptionsValidator>(GatewayOptions.SectionName);
        return services;
    }
}

internal sealed class GatewayOptionsValidator : SettingsValidator<GatewayOptions>
{
    protected override IEnumerable<string> Check(GatewayOptions options)
    {
        if (!(Uri.TryCreate(options.PublicBaseUrl, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
        {
            yield return "Gateway:PublicBaseUrl must be the gateway's absolute http(s) base URL, e.g. https://reka-gateway.internal.example.";
        }
    }
}
