using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Reka.Gateway.Clients;

/// <summary>
/// ASP.NET Core's scheme provider, with the lookups authentication makes on every call (the
/// default scheme, the request handlers, a scheme by its name) answered from tasks built once: the
/// framework's provider wraps the same scheme in a new task each time (about 220 bytes a call,
/// measured side by side on the list call). A scheme added or removed at run time is seen by the
/// next lookup, as before.
/// </summary>
internal sealed class CachedAuthenticationSchemeProvider(IOptions<AuthenticationOptions> options) : AuthenticationSchemeProvider(options)
{
    private sealed record Lookups(int Version, Task<AuthenticationScheme?> DefaultAuthenticate, Task<IEnumerable<AuthenticationScheme>> RequestHandlers,
        Dictionary<string, Task<AuthenticationScheme?>> ByName);

    private Lookups? _lookups;
    private int _version;

    public override Task<AuthenticationScheme?> GetDefaultAuthenticateSchemeAsync() => Current().DefaultAuthenticate;

    public override Task<IEnumerable<AuthenticationScheme>> GetRequestHandlerSchemesAsync() => Current().RequestHandlers;

    // From lookups already built only: building them calls this (the framework's default-scheme
    // lookups go through it).
    public override Task<AuthenticationScheme?> GetSchemeAsync(string name) =>
        Volatile.Read(ref _lookups) is { } lookups && lookups.Version == Volatile.Read(ref _version) && lookups.ByName.TryGetValue(name, out var scheme)
            ? scheme
            : base.GetSchemeAsync(name);

    public override void AddScheme(AuthenticationScheme scheme)
    {
        base.AddScheme(scheme);
        Interlocked.Increment(ref _version);
    }

    public override bool TryAddScheme(AuthenticationScheme scheme)
    {
        var added = base.TryAddScheme(scheme);
        Interlocked.Increment(ref _version);
        return added;
    }

    public override void RemoveScheme(string name)
    {
        base.RemoveScheme(name);
        Interlocked.Increment(ref _version);
    }

    // The version is read before the lookups are built, so lookups built while a scheme changes
    // are at least as new as their version, and replaced on the next call.
    private Lookups Current()
    {
        var version = Volatile.Read(ref _version);
        if (Volatile.Read(ref _lookups) is { } lookups && lookups.Version == version)
        {
            return lookups;
        }
        // Completed: the framework's provider answers from memory.
        var byName = base.GetAllSchemesAsync().Result.ToDictionary(scheme => scheme.Name, scheme => Task.FromResult<AuthenticationScheme?>(scheme), StringComparer.Ordinal);
        lookups = new Lookups(version, base.GetDefaultAuthenticateSchemeAsync(), base.GetRequestHandlerSchemesAsync(), byName);
        Volatile.Write(ref _lookups, lookups);
        return lookups;
    }
}
