using System.Runtime.CompilerServices;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features;
using Reka.Gateway.Infrastructure;
using Microsoft.Net.Http.Headers;

namespace Reka.Gateway.Clients;

/// <summary>
/// Authenticates internal clients by their gateway key, sent the way Reka accepts its own keys:
/// <c>X-Api-Key: &lt;key&gt;</c> or <c>Authorization: Bearer &lt;key&gt;</c> (Reka API reference,
/// "Authentication"), so Reka clients and curl examples work unchanged.
/// Failures answer 401 problem details (RFC 9457); the key itself is never logged or echoed.
/// </summary>
/// <remarks>
/// An <see cref="IAuthenticationHandler"/> of its own rather than an <see cref="AuthenticationHandler{TOptions}"/>:
/// the base class's options, events and asynchronous wrapping cost allocations that a header
/// lookup does not need. A call whose key names a client is authenticated by <see cref="Authenticate"/>
/// before ASP.NET Core's middleware (<see cref="ClientsSetup.UseClientAuthentication"/>); the
/// handler itself authenticates the other calls, and challenges and forbids.
/// </remarks>
internal sealed class ApiKeyAuthenticationHandler(ClientRegistry clients, ILogger<ApiKeyAuthenticationHandler> logger) : IAuthenticationHandler
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

    private HttpContext _context = null!;
    private Task<AuthenticateResult>? _result;

    /// <inheritdoc />
    public Task InitializeAsync(AuthenticationScheme scheme, HttpContext context)
    {
        _context = context;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<AuthenticateResult> AuthenticateAsync() => _result ??= Authenticate(_context, clients);

    /// <summary>
    /// Authenticates <paramref name="context"/>'s call by its gateway key. On success the client
    /// is the call's <see cref="GatewayClient"/> feature and the result is its shared one. The
    /// returned task is always completed.
    /// </summary>
    public static Task<AuthenticateResult> Authenticate(HttpContext context, ClientRegistry clients)
    {
        var key = ReadKey(context.Request.Headers);
        if (key.IsEmpty)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        var client = clients.FindByKey(key, out var expiredAt);
        if (client is null)
        {
            return Task.FromResult(AuthenticateResult.Fail(expiredAt is { } at ? $"The gateway key expired at {at:O}." : UnknownKey));
        }
        context.Features.Set(client);
        context.Features.Get<IHttpMetricsTagsFeature>()?.Tags.Add(new(GatewayMetrics.ClientTag, client.Name));
        return SucceededFor(client);
    }

    /// <summary>
    /// The SHA-256 of <paramref name="context"/>'s key (<see cref="ClientRegistry.FindByKeyHash(string, out DateTimeOffset?)"/>
    /// finds its client as it is now), or null without one: for what outlives its authentication,
    /// such as an event stream.
    /// </summary>
    public static string? KeyHash(HttpContext context) =>
        ReadKey(context.Request.Headers) is { IsEmpty: false } key ? ClientKeys.Hash(key) : null;

    /// <summary>The successful result of <paramref name="client"/>'s calls: built once, shared by them all.</summary>
    public static Task<AuthenticateResult> SucceededFor(GatewayClient client) => Successes.GetValue(client, Succeed);

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
    public async Task ChallengeAsync(AuthenticationProperties? properties)
    {
        var result = await AuthenticateAsync();
        var reason = result.Failure?.Message ?? MissingKey;
        GatewayLog.NotAuthenticated(logger, _context.Request.Method, _context.Request.Path, reason);
        _context.Response.Headers.WWWAuthenticate = "Bearer";
        await Problems.WriteAsync(_context, StatusCodes.Status401Unauthorized, reason);
    }

    /// <inheritdoc />
    public Task ForbidAsync(AuthenticationProperties? properties)
    {
        var client = _context.User.Identity?.Name;
        GatewayLog.Forbidden(logger, _context.Request.Method, _context.Request.Path, client);
        return Problems.WriteAsync(_context, StatusCodes.Status403Forbidden,
            $"Client '{client}' is not an admin client (Clients:<name>:Admin).").AsTask();
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
