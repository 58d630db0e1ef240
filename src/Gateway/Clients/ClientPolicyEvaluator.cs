using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Reka.Gateway.Clients;

/// <summary>
/// ASP.NET Core's policy evaluator, with the gateway's common case decided without building
/// anything: an endpoint whose policy only requires an authenticated user
/// (<c>RequireAuthorization()</c>, every forwarded route), called by a client the API-key scheme
/// authenticated. The framework builds, for each such call, a ticket with its properties'
/// dictionaries, an authorization context with its set of pending requirements, enumerators and
/// tasks (about 775 bytes a call, measured side by side on the list call). Every other case (the
/// admin policy, a caller without a key, an endpoint naming schemes) is the framework's own.
/// </summary>
/// <remarks>
/// Decided here only while <see cref="PassThroughAuthorizationHandler"/> is the only authorization
/// handler, so no handler the framework would have asked could deny it. Calls decided here are not
/// counted in ASP.NET Core's <c>aspnetcore.authorization.attempts</c> (a meter the gateway does not
/// export) nor logged at Debug by its authorization service.
/// </remarks>
internal sealed class ClientPolicyEvaluator(IAuthorizationService authorization, IEnumerable<IAuthorizationHandler> handlers) : PolicyEvaluator(authorization)
{
    private static readonly Task<PolicyAuthorizationResult> Succeeded = Task.FromResult(PolicyAuthorizationResult.Success());

    private readonly bool _onlyPassThrough = handlers.All(h => h is PassThroughAuthorizationHandler);

    /// <inheritdoc />
    public override Task<AuthenticateResult> AuthenticateAsync(AuthorizationPolicy policy, HttpContext context)
    {
        // The framework's answer for a policy without schemes is a success for context.User; the
        // client's own result (built once) says the same of the same principal.
        if (policy.AuthenticationSchemes.Count == 0 && context.Features.Get<GatewayClient>() is { } client
            && ApiKeyAuthenticationHandler.SucceededFor(client) is var succeeded && ReferenceEquals(succeeded.Result.Principal, context.User))
        {
            return succeeded;
        }
        return base.AuthenticateAsync(policy, context);
    }

    /// <inheritdoc />
    public override Task<PolicyAuthorizationResult> AuthorizeAsync(AuthorizationPolicy policy, AuthenticateResult authenticationResult, HttpContext context, object? resource)
    {
        // DenyAnonymousAuthorizationRequirement succeeds for a user with an authenticated identity;
        // only the primary one is looked at here (when it is not, the framework looks at the others).
        if (_onlyPassThrough && policy.Requirements is [DenyAnonymousAuthorizationRequirement]
            && context.User.Identity is { IsAuthenticated: true })
        {
            return Succeeded;
        }
        return base.AuthorizeAsync(policy, authenticationResult, context, resource);
    }
}
