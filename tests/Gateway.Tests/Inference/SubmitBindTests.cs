using System.Net;
using Microsoft.AspNetCore.Http;
using Reka.Gateway.Inference;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.Inference;

/// <summary>
/// After Reka's 202, a submit plans a look at its request and drops its submission's check. On a
/// cluster the two live on different primaries, so the check is dropped only once a replica has
/// confirmed the look: otherwise a failover could lose the look and keep the removal, leaving the
/// request to Reka's callback alone.
/// </summary>
public sealed class SubmitBindTests
{
    [Fact]
    public async Task ALookNoReplicaConfirmed_LeavesTheSubmissionsCheckInPlace_AndTheCallerStillGetsReka202()
    {
        await using var primary = await RedisServer.StartAsync();
        await using var replica = await primary.StartReplicaAsync();
        await using var upstream = await RecordingUpstream.StartAsync();
        // The replica stops answering while Reka holds the submit: the submission's record, written
        // before, was confirmed; what the gateway writes after Reka's 202 cannot be.
        upstream.Respond = context =>
        {
            replica.Pause();
            context.Response.StatusCode = 202;
            return context.Response.WriteAsJsonAsync(new { request_id = "req-unconfirmed-look", status = "IN_QUEUE" });
        };
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl,
            [new("Redis:Configuration", primary.Configuration), new("Redis:ReplicaAckTimeoutSeconds", "1"), new("Webhooks:SubmitCheckAfterSeconds", "300")]);
        using var alice = gateway.CreateClient(TestClients.Alice);
        var checks = (SubmissionChecks)gateway.Services.GetService(typeof(SubmissionChecks))!;

        using var submitted = await alice.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video", new { input = new { prompt = "x" } });
        replica.Resume();

        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Assert.Contains("req-unconfirmed-look", await submitted.Content.ReadAsStringAsync());
        Assert.Equal(1, (await checks.Queue.StatsAsync()).Depth);
        Assert.Contains(gateway.Logs.Entries, e => e.Message.Contains("req-unconfirmed-look") && e.Message.Contains("the submission's check stays")
            && e.Message.Contains(nameof(Reka.Gateway.Infrastructure.Redis.ReplicaNotConfirmedException)));
    }

    [Fact]
    public async Task ALookAReplicaConfirmed_DropsTheSubmissionsCheck()
    {
        await using var primary = await RedisServer.StartAsync();
        await using var replica = await primary.StartReplicaAsync();
        await using var upstream = await RecordingUpstream.StartAsync();
        upstream.AcceptSubmitsAs("req-confirmed-look");
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl,
            [new("Redis:Configuration", primary.Configuration), new("Webhooks:SubmitCheckAfterSeconds", "300")]);
        using var alice = gateway.CreateClient(TestClients.Alice);
        var checks = (SubmissionChecks)gateway.Services.GetService(typeof(SubmissionChecks))!;

        using var submitted = await alice.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video", new { input = new { prompt = "x" } });

        Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
        Assert.Equal(0, (await checks.Queue.StatsAsync()).Depth);
    }
}
