using System.ComponentModel.DataAnnotations;

namespace Reka.Gateway.Infrastructure.Queues;

/// <summary>How a replica works one <see cref="DurableQueue"/>.</summary>
public sealed class QueueWorkerOptions
{
    /// <summary>Jobs handled at once by this replica.</summary>
    [Range(1, 100_000)]
    public int MaxConcurrency { get; set; } = 32;

    /// <summary>How long a claimed job stays with its worker before another replica may retake it, in seconds.</summary>
    [Range(0.1, 86_400)]
    public double LeaseSeconds { get; set; } = 60;

    /// <summary>Longest sleep between looks at the queue when no wake-up arrives, in seconds.</summary>
    [Range(0.01, 3_600)]
    public double PollSeconds { get; set; } = 1;

    /// <summary>On shutdown, how long in-flight jobs may run to completion before their leases are handed back, in seconds.</summary>
    [Range(0, 3_600)]
    public double DrainSeconds { get; set; } = 10;
}
