using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Reka.Gateway.Usage;

/// <summary>Usage records and quota counts (section <c>Usage</c>).</summary>
public sealed class UsageOptions
{
    internal const string SectionName = "Usage";

    /// <summary>How long each client's daily usage is kept (400 days).</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(400);

    /// <summary>
    /// After how long an inference still not terminal stops counting against its client's
    /// <c>max_in_flight</c> (1 day), so that one whose end was never seen cannot hold a slot forever.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan InFlightTimeout { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How often each replica writes the usage it counted to Redis, in seconds.</summary>
    [Range(0.05, 60)]
    public double FlushSeconds { get; set; } = 1;
}

[OptionsValidator]
internal sealed partial class UsageOptionsValidator : IValidateOptions<UsageOptions>;
