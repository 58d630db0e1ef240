using Microsoft.AspNetCore.Http;

namespace Reka.Gateway.Tests.Inference;

/// <summary>With Redis stopped, a list page is shown only when the gateway's memory knows every item's owner.</summary>
public sealed class ListRedisOutageTests
{
    [Fact]
    public async Task WithRedisStopped_APageOfKnownOwnersIsFiltered_AndOneWithAnUnknownIdIsRefusedWith503()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl, [new("Redis:Configuration", redis.Configuration)]);
        using var alice = gateway.CreateClient(TestClients.Alice);
        using var bob = gateway.CreateClient(TestClients.Bob);
        var alices = await SubmitAsync(upstream, alice);
        var bobs = await SubmitAsync(upstream, bob);
        var unknown = $"r-{Guid.NewGuid():N}";
        var page = $$"""{"items":[{"request_id":"{{alices}}"},{"request_id":"{{bobs}}"},{"request_id":"{{unknown}}"}],"has_more":false}""";
        upstream.Respond = context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(page);
        };
        // Read from Redis while it runs; the owners found are then in the gateway's memory.
        Assert.Equal([alices], await ListAsync(alice));

        await redis.StopAsync();
        var refused = await alice.GetAsync("/v2/inference/requests");
        page = $$"""{"items":[{"request_id":"{{alices}}"},{"request_id":"{{bobs}}"}],"has_more":false}""";
        var known = await ListAsync(alice);

        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        Assert.Contains("none is shown", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain(bobs, problem.ToString());
        Assert.DoesNotContain(alices, problem.ToString());
        Assert.Equal([alices], known);
    }

    private static async Task<string> SubmitAsync(RecordingUpstream upstream, HttpClient client)
    {
        var requestId = $"r-{Guid.NewGuid():N}";
        upstream.Respond = context =>
        {
            context.Response.StatusCode = 202;
            return context.Response.WriteAsJsonAsync(new { request_id = requestId, status = "IN_QUEUE" });
        };
        var response = await client.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video", new { input = new { prompt = "x" } });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return requestId;
    }

    private static async Task<string[]> ListAsync(HttpClient client) =>
        [.. JsonDocument.Parse(await client.GetStringAsync("/v2/inference/requests")).RootElement.GetProperty("items")
            .EnumerateArray().Select(item => item.GetProperty("request_id").GetString()!)];
}
