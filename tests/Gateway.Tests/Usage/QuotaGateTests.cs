using Microsoft.Extensions.Options;
using Reka.Gateway.Clients;
using Reka.Gateway.Usage;

namespace Reka.Gateway.Tests.Usage;

public sealed class QuotaGateTests
{
    [Fact]
    public async Task AReservationGivenBackTwice_GivesItsDailySubmitAndItsSlotBackOnce()
    {
        using var store = (await RedisServer.Shared).NewStore();
        var keys = new UsageKeys(store);
        var clock = new TestClock();
        var quotas = new QuotaGate(keys, store, Options.Create(new UsageOptions()), clock);
        var client = new GatewayClient("alice", Admin: false, WebhookSecret: null, RateLimit: null, AllowedEndpoints: null,
            new QuotaOptions { MaxInFlight = 5, DailySubmits = 5 }, FromSettings: true);
        var (first, _) = await quotas.AdmitAsync(client, "sub-1");
        var (second, _) = await quotas.AdmitAsync(client, "sub-2");
        Assert.NotNull(first);
        Assert.NotNull(second);

        // The submit's own path and its check both give the first back (or one of them, twice).
        await quotas.ReleaseAsync(first);
        await quotas.ReleaseAsync(first);

        var day = UsageKeys.Day(clock.GetUtcNow());
        Assert.Equal(1, (long)await store.Database.StringGetAsync(keys.DailySubmits("alice", day)));
        Assert.Equal(["sub-2"], (await store.Database.SortedSetRangeByRankAsync(keys.InFlight("alice"))).Select(v => (string)v!));
    }
}
