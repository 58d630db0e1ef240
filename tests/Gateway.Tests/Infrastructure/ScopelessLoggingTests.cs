using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reka.Gateway.Infrastructure;

namespace Reka.Gateway.Tests.Infrastructure;

/// <summary>Logging without external scopes: lines still pass, scopes cost nothing.</summary>
public sealed class ScopelessLoggingTests
{
    [Fact]
    public async Task WrappedProvider_GetsNoScopeProvider_StillLogs_AndIsDisposedWithTheHost()
    {
        var provider = new ScopeTakingProvider();
        var services = new ServiceCollection().AddLogging(logging => logging.AddProvider(provider).WithoutScopes()).BuildServiceProvider();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("test");

        using (logger.BeginScope("request"))
        {
            logger.LogInformation("inside a scope");
        }

        Assert.False(provider.GotScopeProvider);
        Assert.Equal(["inside a scope"], provider.Lines);
        await services.DisposeAsync();
        Assert.True(provider.Disposed);
    }

    [Fact]
    public void UnwrappedProvider_GetsTheScopeProvider()
    {
        // The control: what WithoutScopes prevents.
        var provider = new ScopeTakingProvider();
        var services = new ServiceCollection().AddLogging(logging => logging.AddProvider(provider)).BuildServiceProvider();

        services.GetRequiredService<ILoggerFactory>().CreateLogger("test");

        Assert.True(provider.GotScopeProvider);
    }

    [Fact]
    public void GatewaysLogProviders_TakeNoScopes()
    {
        var builder = WebApplication.CreateBuilder();
        builder.AddGateway();
        using var services = builder.Services.BuildServiceProvider();

        var providers = services.GetServices<ILoggerProvider>().ToList();

        Assert.NotEmpty(providers);
        Assert.DoesNotContain(providers, p => p is ISupportExternalScope);
    }

    private sealed class ScopeTakingProvider : ILoggerProvider, ISupportExternalScope
    {
        public bool GotScopeProvider { get; private set; }
        public bool Disposed { get; private set; }
        public List<string> Lines { get; } = [];

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => GotScopeProvider = true;

        public ILogger CreateLogger(string categoryName) => new Logger(Lines);

        public void Dispose() => Disposed = true;

        private sealed class Logger(List<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Add(formatter(state, exception));
        }
    }
}
