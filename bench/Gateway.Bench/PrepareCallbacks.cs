using System.Net.Http.Json;
using System.Text.Json;

namespace Reka.Gateway.Bench;

/// <summary>
/// Makes genuine callbacks: submits <c>count</c> requests through the gateway (the simulator
/// finishes them at once and, told to drop its own webhooks, never calls back), then reads from
/// the simulator the callback URL the gateway gave each. Writes one line per request:
/// <c>{path and query}\t{JSON body}</c>, the body being what Reka would post.
/// </summary>
public static class PrepareCallbacks
{
    /// <summary>Runs the preparation; returns the exit code.</summary>
    public static async Task<int> RunAsync(Arguments args)
    {
        var count = args.Int("count");
        using var gateway = new HttpClient { BaseAddress = new Uri(args["gateway"]) };
        gateway.DefaultRequestHeaders.Add("X-Api-Key", args["key"]);
        using var simulator = new HttpClient { BaseAddress = new Uri(args["simulator"]) };
        var lines = new string[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, token) =>
        {
            using var submitted = await gateway.PostAsJsonAsync("/v2/inference/sora-2-pro/image-to-video", new { input = new { prompt = $"bench {i}" } }, token);
            submitted.EnsureSuccessStatusCode();
            var requestId = (await submitted.Content.ReadFromJsonAsync<JsonElement>(token)).GetProperty("request_id").GetString()!;
            var job = await simulator.GetFromJsonAsync<JsonElement>($"/_simulator/requests/{requestId}", token);
            var callback = new Uri(job.GetProperty("webhook_url").GetString()!);
            lines[i] = $"{callback.PathAndQuery}\t{JsonSerializer.Serialize(new { request_id = requestId, status = "COMPLETED" })}";
        });
        await File.WriteAllLinesAsync(args["out"], lines);
        return 0;
    }
}
