using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Reka.Gateway.Tests.Support;

/// <summary>
/// Records the measurements of one gateway host's meters (not those of other hosts in this
/// process) from the moment it is made: what a test did shows as counts it can wait for, the
/// positive signal that the gateway got as far as it counts.
/// </summary>
public sealed class MetricsRecorder : IDisposable
{
    private readonly MeterListener _listener = new();

    public MetricsRecorder(IMeterFactory scope)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == scope)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    /// <summary>Every measurement so far, in order.</summary>
    public ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> Measurements { get; } = new();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }
        Measurements.Enqueue((instrument.Name, value, copy));
    }

    /// <summary>Samples the observable instruments (gauges) now.</summary>
    public void Observe() => _listener.RecordObservableInstruments();

    /// <summary>Whether <paramref name="instrument"/> was measured with <paramref name="tag"/> = <paramref name="value"/>.</summary>
    public bool Has(string instrument, string tag, object? value) => Matching(instrument, tag, value).Any();

    /// <summary>The sum of <paramref name="instrument"/>'s measurements with <paramref name="tag"/> = <paramref name="value"/> (a counter's count).</summary>
    public double Count(string instrument, string tag, object? value) => Matching(instrument, tag, value).Sum(m => m.Value);

    private IEnumerable<(string Instrument, double Value, Dictionary<string, object?> Tags)> Matching(string instrument, string tag, object? value) =>
        Measurements.Where(m => m.Instrument == instrument && m.Tags.TryGetValue(tag, out var v) && Equals(v?.ToString(), value?.ToString()));

    /// <summary>Waits until <paramref name="instrument"/> has counted <paramref name="count"/> with <paramref name="tag"/> = <paramref name="value"/>.</summary>
    public Task WaitForAsync(string instrument, string tag, object? value, double count = 1, double timeoutSeconds = 20) =>
        Eventually.ThatAsync(() => Task.FromResult(Count(instrument, tag, value) >= count), timeoutSeconds,
            $"{instrument} {{{tag}={value}}} to count {count} (counted {Count(instrument, tag, value)})");

    public void Dispose() => _listener.Dispose();
}
