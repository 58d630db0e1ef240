using Microsoft.Extensions.Logging.Abstractions;
using Reka.Gateway.Usage;
using Microsoft.Extensions.Options;
using Reka.Gateway.Delivery;
using Reka.Gateway.Infrastructure.Queues;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Requests;
using Reka.Gateway.Webhooks;

namespace Reka.Gateway.Tests.Support;

/// <summary>
/// The gateway's durable queues (callbacks, fan-outs, deliveries) in one store, read from outside
/// the gateways that work them (processes, say).
/// </summary>
public static class GatewayQueues
{
    /// <summary>
    /// Waits until every queue of the store that <paramref name="settings"/> name (<c>Redis:*</c>)
    /// is empty: no job waits, runs or will be retried, so nothing more can be delivered. The
    /// positive sign that "nothing else arrives" after what the test has seen.
    /// </summary>
    public static async Task WaitUntilEmptyAsync(IReadOnlyDictionary<string, string?> settings, double timeoutSeconds = 30)
    {
        using var store = TestStores.New(new RedisOptions { Configuration = settings["Redis:Configuration"]!, KeyPrefix = settings["Redis:KeyPrefix"]! });
        using var deliveries = new Deliveries(store, Options.Create(new DeliveryOptions()), TimeProvider.System);
        var usage = new UsageLedger(new UsageKeys(store), store, Options.Create(new UsageOptions()), TimeProvider.System, TestStores.Metrics, NullLogger<UsageLedger>.Instance);
        var callbacks = new CallbackInbox(store, new RequestRecords(store, Options.Create(new CacheOptions())), usage, Options.Create(new WebhooksOptions()), TimeProvider.System);
        DurableQueue[] queues = [callbacks.Queue, deliveries.FanOutQueue, deliveries.Queue];
        var left = new Dictionary<string, long>();
        await Eventually.ThatAsync(async () =>
        {
            foreach (var queue in queues)
            {
                left[queue.Name] = (await queue.StatsAsync()).Depth;
            }
            return left.Values.All(depth => depth == 0);
        }, timeoutSeconds, $"the gateway's queues to be empty (left: {string.Join(", ", left.Select(q => $"{q.Key} {q.Value}"))})");
    }
}
