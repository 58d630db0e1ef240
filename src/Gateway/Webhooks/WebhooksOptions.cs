using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure.Queues;
using Reka.Gateway.Requests;

namespace Reka.Gateway.Webhooks;

/// <summary>Settings of Reka's callbacks (section <c>Webhooks</c>).</summary>
public sealed class WebhooksOptions : IValidatableObject
{
    internal const string SectionName = "Webhooks";

    /// <summary>
    /// Key of the HMAC that authenticates Reka's callbacks (the token in the <c>webhook_url</c> the
    /// gateway gives Reka). The same on every replica; at least 32 characters.
    /// </summary>
    [MinLength(32, ErrorMessage = "Webhooks:CallbackSecret must be set, the same on every replica, at least 32 characters (e.g. `openssl rand -base64 32`).")]
    public string CallbackSecret { get; set; } = "";

    /// <summary>Largest callback body accepted, in bytes (1 MiB).</summary>
    [Range(1024, 1L << 30)]
    public long MaxBodyBytes { get; set; } = 1 << 20;

    /// <summary>Retry delays used when <see cref="ProcessingRetrySchedule"/> is empty (about 22 h in all).</summary>
    public static readonly IReadOnlyList<TimeSpan> DefaultProcessingRetrySchedule =
    [
        TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(15), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5),
        TimeSpan.FromMinutes(15), TimeSpan.FromHours(1), TimeSpan.FromHours(3), TimeSpan.FromHours(6), TimeSpan.FromHours(12),
    ];

    /// <summary>
    /// Delays between tries to confirm a callback with Reka (when Reka is unreachable, or does not
    /// yet report a terminal status). Empty means <see cref="DefaultProcessingRetrySchedule"/>.
    /// </summary>
    public List<TimeSpan> ProcessingRetrySchedule { get; set; } = [];

    /// <summary>The schedule in force.</summary>
    public IReadOnlyList<TimeSpan> ProcessingSchedule => ProcessingRetrySchedule.Count > 0 ? ProcessingRetrySchedule : DefaultProcessingRetrySchedule;

    /// <summary>
    /// Seconds after a submit at which the gateway asks Reka about the request itself, should its
    /// callback not have come by then (Reka does not document retrying lost callbacks). 0 turns it off.
    /// </summary>
    [Range(0, 30 * 86_400)]
    public double ReconcileAfterSeconds { get; set; } = 600;

    /// <summary>
    /// Seconds after a submit at which the gateway checks it was recorded whole, when its own
    /// steps could not (Redis failed while it was upstream, or the replica stopped): the request
    /// is asked of Reka again under the submit's <c>Idempotency-Key</c>, bound to its owner and
    /// checked at once. Until then, the owner of such a request gets 404 for it. Keep it above
    /// the submit route's timeout (<c>Proxy:DefaultTimeoutSeconds</c>, 100 s), so that the first
    /// send is over by then.
    /// </summary>
    [Range(1, 86_400)]
    public double SubmitCheckAfterSeconds { get; set; } = 120;

    /// <summary>
    /// How each replica works the callback queue and the submit-check queue: 32 jobs at once by
    /// default. On two cores, 64 cut the fan-out's median p99 at 1,000 callbacks/s from 290 to 85 ms
    /// in trials, but the callback ingest by 30 %: while callbacks come faster than they are
    /// processed, the jobs take the receiver's CPU (README, Performance). Raise it where cores are spare.
    /// </summary>
    [ValidateObjectMembers]
    public QueueWorkerOptions Processing { get; set; } = new() { MaxConcurrency = 32, LeaseSeconds = 60 };

    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (ProcessingSchedule.Any(delay => delay <= TimeSpan.Zero))
        {
            yield return new("Webhooks:ProcessingRetrySchedule delays must be above 0.");
        }
    }
}

[OptionsValidator]
internal sealed partial class WebhooksOptionsValidator : IValidateOptions<WebhooksOptions>;

/// <summary>
/// Refuses a <c>Cache:ResultTtl</c> that could expire a request's record, and with it its owner,
/// while the gateway still asks Reka about the request. The latest such look: the later of
/// <see cref="WebhooksOptions.ReconcileAfterSeconds"/> and <see cref="WebhooksOptions.SubmitCheckAfterSeconds"/>
/// after the submit, then the processing schedule twice (a callback coming while a planned look
/// waits, or the submission check's bind, starts its tries over without restarting the record's
/// TTL), then an hour for the tries themselves and their queue waits.
/// </summary>
internal sealed class ResultTtlValidator(IOptions<CacheOptions> cache) : IValidateOptions<WebhooksOptions>
{
    private const double SlackSeconds = 3600;

    public ValidateOptionsResult Validate(string? name, WebhooksOptions options)
    {
        CacheOptions settings;
        try
        {
            settings = cache.Value;
        }
        catch (OptionsValidationException)
        {
            return ValidateOptionsResult.Skip; // the Cache section's own failures are reported by its validator
        }
        var lastLook = Math.Max(options.ReconcileAfterSeconds, options.SubmitCheckAfterSeconds)
            + 2 * options.ProcessingSchedule.Sum(delay => delay.TotalSeconds) + SlackSeconds;
        if (settings.ResultTtl.TotalSeconds > lastLook)
        {
            return ValidateOptionsResult.Success;
        }
        var minutes = Math.Ceiling(lastLook / 60);
        return ValidateOptionsResult.Fail(
            $"Cache:ResultTtl ({settings.ResultTtl}) must be longer than the gateway's latest look at a request, {Math.Floor(minutes / 60)} h {minutes % 60} min "
            + "after its submit with these settings: the later of Webhooks:ReconcileAfterSeconds and Webhooks:SubmitCheckAfterSeconds, "
            + "twice every delay of Webhooks:ProcessingRetrySchedule (a callback or the submission check starts the tries over) and an hour "
            + "for the tries themselves; else a request's record, and with it its owner, could expire while the gateway still asks Reka about it.");
    }
}
