using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;

namespace Reka.Gateway.Tests.Support;

/// <summary>The gateway's Redis store made outside a gateway host, for tests that read or write Redis as the gateway does.</summary>
internal static class TestStores
{
    // Its metrics go to a meter factory of its own, which no test listens to.
    private static readonly ServiceProvider Services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    /// <summary>The gateway's metrics on that meter factory, for parts made outside a gateway host.</summary>
    public static GatewayMetrics Metrics { get; } = new(Services.GetRequiredService<IMeterFactory>());

    /// <summary>A store with <paramref name="options"/> (the caller disposes it).</summary>
    public static RedisStore New(RedisOptions options) => new(Options.Create(options), Metrics, NullLogger<RedisStore>.Instance);
}
