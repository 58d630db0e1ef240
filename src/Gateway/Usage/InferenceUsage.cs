using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Reka.Gateway.Events;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;

namespace Reka.Gateway.Usage;

/// <summary>
/// Usage's part in a completed inference: it frees the inference's slot among its client's
/// inferences in flight, and counts, once per event however often it is processed, the
/// inference ended by status and the seconds of video it produced (<c>output.duration_seconds</c>),
/// on the day it ended.
/// </summary>
internal sealed class InferenceUsage(UsageKeys keys, QuotaGate quotas, RedisStore redis, IOptions<UsageOptions> options,
    GatewayMetrics metrics, TimeProvider time) : ICompletedInferenceConsumer
{
    // KEYS: counted mark, day's usage; ARGV: TTL s, ended field, video field, video seconds.
    private const string CountOnceScript = """
        if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
        redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
        if tonumber(ARGV[4]) > 0 then redis.call('HINCRBYFLOAT', KEYS[2], ARGV[3], ARGV[4]) end
        redis.call('EXPIRE', KEYS[2], ARGV[1])
        return 1
        """;

    public async Task ConsumeAsync(CompletedInference inference, CancellationToken cancellationToken)
    {
        if (inference.Event.Client is not { } client)
        {
            return;
        }
        // The slot's release and the count do not depend on each other: sent together, one round trip.
        var ending = inference.SubmissionId is { } submission ? quotas.EndAsync(client, submission) : Task.CompletedTask;
        var videoSeconds = inference.Event.Result?["output"]?["duration_seconds"] is JsonValue value && value.TryGetValue<double>(out var seconds) && seconds > 0 ? seconds : 0;
        var counting = redis.Database.ScriptEvaluateAsync(CountOnceScript,
            [keys.Counted(client, inference.Event.Id), keys.Daily(client, UsageKeys.Day(time.GetUtcNow()))],
            [
                (long)options.Value.Retention.TotalSeconds, UsageFields.Of(UsageFields.Ended, inference.Event.Status.ToUpperInvariant()),
                UsageFields.VideoSeconds, videoSeconds.ToString("R", CultureInfo.InvariantCulture),
            ]);
        await Task.WhenAll(ending, counting);
        if ((long)counting.Result == 1)
        {
            metrics.InferenceEnded(client, inference.Event.Status, videoSeconds);
        }
    }
}
