using System.Diagnostics;

namespace Reka.Gateway.Infrastructure;

/// <summary>Activities for the gateway's background work.</summary>
internal static class Tracing
{
    /// <summary>
    /// Starts an activity under the W3C <paramref name="traceParent"/> (null: a new trace). It is
    /// created even when no telemetry listens, so that HttpClient still sends its
    /// <c>traceparent</c> and one trace follows a submit through its callback to the subscriber.
    /// </summary>
    public static Activity StartUnder(this ActivitySource source, string name, ActivityKind kind, string? traceParent)
    {
        var activity = source.StartActivity(name, kind, traceParent);
        if (activity is not null)
        {
            return activity;
        }
        activity = new Activity(name);
        if (traceParent is not null)
        {
            activity.SetParentId(traceParent);
        }
        return activity.Start();
    }
}
