using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Reka.Gateway.Tests.Support;

/// <summary>One log entry as the gateway wrote it.</summary>
public sealed record CapturedLog(LogLevel Level, string Category, string Message, Exception? Exception);

/// <summary>
/// A logger provider that keeps what a gateway logs (at the levels its settings let through), so
/// that tests can assert what was, and was not, logged.
/// </summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    /// <summary>Entries so far, in order.</summary>
    public IReadOnlyList<CapturedLog> Entries => [.. _entries];

    /// <summary>Entries at <see cref="LogLevel.Error"/> or above.</summary>
    public IReadOnlyList<CapturedLog> Errors => [.. _entries.Where(e => e.Level >= LogLevel.Error)];

    /// <summary>Forgets the entries so far: a new test starts.</summary>
    public void Clear() => _entries.Clear();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            capture._entries.Enqueue(new CapturedLog(logLevel, category, formatter(state, exception), exception));
    }
}
