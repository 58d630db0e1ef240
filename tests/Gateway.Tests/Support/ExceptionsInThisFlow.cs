using System.Runtime.ExceptionServices;

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
