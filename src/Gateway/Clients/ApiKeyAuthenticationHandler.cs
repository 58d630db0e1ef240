using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features;
using Reka.Gateway.Infrastructure;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Reka.Gateway.Clients;

/// <summary>
/// Authenticates internal clients by their gateway key, sent the way Reka accepts its own keys:
/// <c>X-Api-Key: &lt;key&gt;</c> or <c>Authorization: Bearer &lt;key&gt;</c> (Reka API reference,
/// "Authentication"), so Reka clients and curl examples work unchanged.
/// Failures answer 401 problem details (RFC 9457); the key itself is never logged or echoed.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ClientRegistry clients)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "ApiKey";

    /// <summary>Header carrying the key, as in Reka's API.</summary>
    public const string ApiKeyHeader = "X-Api-Key";

    /// <summary>Claim naming the client.</summary>
    public const string ClientClaim = "gateway:client";

    /// <summary>Claim present with value "true" on admin clients.</summary>
    public const string AdminClaim = "gateway:admin";

    private const string MissingKey = "No gateway key: send it as 'X-Api-Key: <key>' or 'Authorization: Bearer <key>'.";
    private const string UnknownKey = "The gateway key is not known to this gateway.";

    /// <inheritdoc />
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = ReadKey(Request.Headers);
        if (key.IsEmpty)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        var client = clients.FindByKey(key, out var expiredAt);
        if (client is null)
        {
            return Task.FromResult(AuthenticateResult.Fail(expiredAt is { } at ? $"The gateway key expired at {at:O}." : UnknownKey));
        }
        Context.Features.Set(client);
        Context.Features.Get<IHttpMetricsTagsFeature>()?.Tags.Add(new(GatewayMetrics.ClientTag, client.Name));
        return Successes.GetValue(client, Succeed);
    }

    // A client's record is immutable (a change replaces it), and nothing in the pipeline changes a
    // principal, so each client's successful result is built once and shared by its requests.
    private static readonly ConditionalWeakTable<GatewayClient, Task<AuthenticateResult>> Successes = [];

    private static Task<AuthenticateResult> Succeed(GatewayClient client)
    {
        var identity = new ClaimsIdentity(
            [new Claim(ClientClaim, client.Name), new Claim(AdminClaim, client.Admin ? "true" : "false")],
            SchemeName, ClientClaim, roleType: null);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    /// <inheritdoc />
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.Headers.WWWAuthenticate = "Bearer";
        await Problems.WriteAsync(Context, StatusCodes.Status401Unauthorized, result.Failure?.Message ?? MissingKey);
    }

    /// <inheritdoc />
    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        await Problems.WriteAsync(Context, StatusCodes.Status403Forbidden,
            $"Client '{Context.User.Identity?.Name}' is not an admin client (Clients:<name>:Admin).");
    }

    private static ReadOnlySpan<char> ReadKey(IHeaderDictionary headers)
    {
        var apiKey = headers[ApiKeyHeader];
        if (apiKey.Count == 1 && !string.IsNullOrWhiteSpace(apiKey[0]))
        {
            return apiKey[0].AsSpan().Trim();
        }
        var authorization = headers[HeaderNames.Authorization];
        if (authorization.Count == 1 && authorization[0] is { } value
            && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return value.AsSpan("Bearer ".Length).Trim();
        }
        return [];
    }
}

/// <summary>Access to the authenticated client of a request.</summary>
internal static class GatewayClientHttpContextExtensions
{
    /// <summary>The client that authenticated this request.</summary>
    /// <exception cref="InvalidOperationException">The endpoint does not require authentication.</exception>
    public static GatewayClient GetClient(this HttpContext context) =>
        context.Features.Get<GatewayClient>() ?? throw new InvalidOperationException("The request is not authenticated.");
}
