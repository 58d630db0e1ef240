using System.Runtime.ExceptionServices;
using StackExchange.Redis;

namespace Reka.Gateway.Tests.Support;

/// <summary>
/// Records every exception thrown, even one caught, in the execution context where it was made
/// and the contexts that flow from it (async continuations and the background services started
/// there, on whatever thread they run), and none of the tests running beside it.
/// </summary>
public sealed class ExceptionsInThisFlow : IDisposable
{
    private static readonly AsyncLocal<ExceptionsInThisFlow?> Current = new();
    private readonly List<Exception> _thrown = [];

    public ExceptionsInThisFlow()
    {
        Current.Value = this;
        AppDomain.CurrentDomain.FirstChanceException += Record;
    }

    /// <summary>The exceptions thrown so far.</summary>
    public IReadOnlyList<Exception> Thrown
    {
        get
        {
            lock (_thrown)
            {
                return [.. _thrown];
            }
        }
    }

    /// <summary>
    /// False for Redis answering late or a connection dropped: on a busy machine the tests' shared
    /// redis-server may take longer than a command's timeout, which is not what a test of the
    /// gateway's own throwing is about.
    /// </summary>
    public static bool IsNotRedisSlowness(Exception exception) => exception is not (RedisTimeoutException or RedisConnectionException);

    private void Record(object? sender, FirstChanceExceptionEventArgs e)
    {
        if (ReferenceEquals(Current.Value, this))
        {
            lock (_thrown)
            {
                _thrown.Add(e.Exception);
            }
        }
    }

    public void Dispose() => AppDomain.CurrentDomain.FirstChanceException -= Record;
}
