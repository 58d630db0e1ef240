using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure.Queues;

namespace Reka.Gateway.Delivery;

/// <summary>How webhook deliveries are attempted (section <c>Delivery</c>).</summary>
public sealed class DeliveryOptions : IValidatableObject
{
    internal const string SectionName = "Delivery";

    /// <summary>Retry delays used when <see cref="RetrySchedule"/> is empty: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.</summary>
    public static readonly IReadOnlyList<TimeSpan> DefaultRetrySchedule =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2),
        TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(10),
    ];

    /// <summary>
    /// Delay before each retry after a failed attempt (one entry per retry); after the last, the
    /// delivery is a dead letter. Empty means <see cref="DefaultRetrySchedule"/>.
    /// </summary>
    public List<TimeSpan> RetrySchedule { get; set; } = [];

    /// <summary>Each delay is spread by up to this fraction either way, so retries of many deliveries do not arrive together.</summary>
    [Range(0, 0.99)]
    public double JitterFraction { get; set; } = 0.2;

    /// <summary>
    /// Longest wait a subscriber's <c>Retry-After</c> can impose, in seconds (12 hours): every
    /// retry waiting this long must still end within <see cref="Retention"/>, while the event is kept.
    /// </summary>
    [Range(1, 30 * 86_400)]
    public double MaxRetryAfterSeconds { get; set; } = 43_200;

    /// <summary>Time allowed for one attempt, in seconds.</summary>
    [Range(0.01, 3_600)]
    public double AttemptTimeoutSeconds { get; set; } = 15;

    /// <summary>How long finished deliveries, their attempts and their events are kept for listing and replay.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How each replica works the queue of single deliveries (retries and replays).</summary>
    [ValidateObjectMembers]
    public QueueWorkerOptions Worker { get; set; } = new() { MaxConcurrency = 64, LeaseSeconds = 60 };

    /// <summary>How each replica works the fan-out queue (one job per event, all its first attempts).</summary>
    [ValidateObjectMembers]
    public QueueWorkerOptions FanOut { get; set; } = new() { MaxConcurrency = 64, LeaseSeconds = 60 };

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>The schedule in force.</summary>
    public IReadOnlyList<TimeSpan> Schedule => RetrySchedule.Count > 0 ? RetrySchedule : DefaultRetrySchedule;

    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (Schedule.Any(delay => delay <= TimeSpan.Zero))
        {
            yield return new("Delivery:RetrySchedule delays must be above 0.");
        }
        if (AttemptTimeoutSeconds >= Math.Min(Worker.LeaseSeconds, FanOut.LeaseSeconds))
        {
            yield return new("Delivery:AttemptTimeoutSeconds must be below the workers' LeaseSeconds (an attempt must end before its lease).");
        }
        // Events must outlive every retry of the schedule, each as late as jitter or a subscriber's
        // Retry-After can make it, or a late retry finds nothing to send.
        var longest = TimeSpan.FromSeconds(MaxRetryAfterSeconds);
        var schedule = Schedule.Aggregate(TimeSpan.Zero, (total, delay) => total + Max(delay * (1 + JitterFraction), longest));
        if (Retention <= schedule)
        {
            yield return new($"Delivery:Retention must be longer than the whole retry schedule, each retry as late as jitter and " +
                $"Delivery:MaxRetryAfterSeconds can make it ({schedule.TotalHours:0.#} h).");
        }
    }
}

[OptionsValidator]
internal sealed partial class DeliveryOptionsValidator : IValidateOptions<DeliveryOptions>;
