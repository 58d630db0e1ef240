using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Reka.Gateway.Clients;

namespace Reka.Gateway.Tests.Clients;

/// <summary>
/// The policy evaluator's fast path decides as the framework does: the same outcome for an
/// authenticated client, an anonymous caller, the admin policy, and an extra handler that denies.
/// </summary>
public sealed class ClientPolicyEvaluatorTests
{
    private static readonly AuthorizationPolicy Authenticated = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
    private static readonly AuthorizationPolicy Admin = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().RequireClaim(ApiKeyAuthenticationHandler.AdminClaim, "true").Build();

    [Fact]
    public async Task AuthenticatedClient_OnTheDefaultPolicy_Succeeds_WithItsOwnPrincipal()
    {
        var evaluator = Evaluator();
        var context = ContextOf(Client("alice", admin: false));

        var authenticated = await evaluator.AuthenticateAsync(Authenticated, context);
        var authorized = await evaluator.AuthorizeAsync(Authenticated, authenticated, context, resource: null);

        Assert.True(authenticated.Succeeded);
        Assert.Same(context.User, authenticated.Principal);
        Assert.True(authorized.Succeeded);
    }

    [Fact]
    public async Task AnonymousCaller_IsChallenged()
    {
        var evaluator = Evaluator();
        var context = new DefaultHttpContext();

        var authenticated = await evaluator.AuthenticateAsync(Authenticated, context);
        var authorized = await evaluator.AuthorizeAsync(Authenticated, authenticated, context, resource: null);

        Assert.False(authenticated.Succeeded);
        Assert.True(authorized.Challenged);
    }

    [Fact]
    public async Task NonAdminClient_OnTheAdminPolicy_IsForbidden_AndAnAdminIsNot()
    {
        var evaluator = Evaluator();
        var alice = ContextOf(Client("alice", admin: false));
        var ops = ContextOf(Client("ops", admin: true));

        var forbidden = await evaluator.AuthorizeAsync(Admin, await evaluator.AuthenticateAsync(Admin, alice), alice, resource: null);
        var allowed = await evaluator.AuthorizeAsync(Admin, await evaluator.AuthenticateAsync(Admin, ops), ops, resource: null);

        Assert.True(forbidden.Forbidden);
        Assert.True(allowed.Succeeded);
    }

    [Fact]
    public async Task AnotherHandlerThatDenies_IsStillAsked()
    {
        var evaluator = Evaluator(services => services.AddSingleton<IAuthorizationHandler, DenyEveryone>());
        var context = ContextOf(Client("alice", admin: false));

        var authorized = await evaluator.AuthorizeAsync(Authenticated, await evaluator.AuthenticateAsync(Authenticated, context), context, resource: null);

        Assert.True(authorized.Forbidden);
    }

    [Fact]
    public async Task PrincipalReplacedAfterAuthentication_IsAuthenticatedAsTheFrameworkWould()
    {
        var evaluator = Evaluator();
        var context = ContextOf(Client("alice", admin: false));
        context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("name", "someone else")], "other"));

        var authenticated = await evaluator.AuthenticateAsync(Authenticated, context);

        Assert.True(authenticated.Succeeded);
        Assert.Same(context.User, authenticated.Principal);
    }

    [Fact]
    public async Task SchemeProvider_AnswersTheSameTasks_AndSeesASchemeAddedOrRemovedLater()
    {
        var options = new AuthenticationOptions { DefaultScheme = ApiKeyAuthenticationHandler.SchemeName };
        options.AddScheme<ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, displayName: null);
        var schemes = new CachedAuthenticationSchemeProvider(Options.Create(options));

        var first = schemes.GetDefaultAuthenticateSchemeAsync();
        Assert.Same(first, schemes.GetDefaultAuthenticateSchemeAsync());
        Assert.Same(schemes.GetSchemeAsync(ApiKeyAuthenticationHandler.SchemeName), schemes.GetSchemeAsync(ApiKeyAuthenticationHandler.SchemeName));
        Assert.Equal(ApiKeyAuthenticationHandler.SchemeName, (await first)?.Name);
        Assert.Empty(await schemes.GetRequestHandlerSchemesAsync());
        Assert.Null(await schemes.GetSchemeAsync("remote"));

        schemes.AddScheme(new AuthenticationScheme("remote", null, typeof(RequestHandler)));

        Assert.Equal(["remote"], (await schemes.GetRequestHandlerSchemesAsync()).Select(s => s.Name));
        Assert.Equal("remote", (await schemes.GetSchemeAsync("remote"))?.Name);
        schemes.RemoveScheme("remote");
        Assert.Empty(await schemes.GetRequestHandlerSchemesAsync());
        Assert.Null(await schemes.GetSchemeAsync("remote"));
    }

    private static ClientPolicyEvaluator Evaluator(Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection().AddLogging().AddAuthorization();
        configure?.Invoke(services);
        var provider = services.BuildServiceProvider();
        return new ClientPolicyEvaluator(provider.GetRequiredService<IAuthorizationService>(), provider.GetServices<IAuthorizationHandler>());
    }

    private static GatewayClient Client(string name, bool admin) => new(name, admin, null, null, null, null, FromSettings: true);

    // As the authentication middleware leaves a call the API-key scheme authenticated.
    private static DefaultHttpContext ContextOf(GatewayClient client)
    {
        var context = new DefaultHttpContext();
        context.Features.Set(client);
        context.User = ApiKeyAuthenticationHandler.SucceededFor(client).Result.Principal!;
        return context;
    }

    private sealed class DenyEveryone : AuthorizationHandler<DenyAnonymousAuthorizationRequirement>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, DenyAnonymousAuthorizationRequirement requirement)
        {
            context.Fail();
            return Task.CompletedTask;
        }
    }

    private sealed class RequestHandler : IAuthenticationRequestHandler
    {
        public Task<bool> HandleRequestAsync() => Task.FromResult(false);
        public Task InitializeAsync(AuthenticationScheme scheme, HttpContext context) => Task.CompletedTask;
        public Task<AuthenticateResult> AuthenticateAsync() => Task.FromResult(AuthenticateResult.NoResult());
        public Task ChallengeAsync(AuthenticationProperties? properties) => Task.CompletedTask;
        public Task ForbidAsync(AuthenticationProperties? properties) => Task.CompletedTask;
    }
}
