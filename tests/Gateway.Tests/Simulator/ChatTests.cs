using System.Collections.Concurrent;

namespace Reka.Gateway.Tests.Simulator;

public sealed class ChatTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    private const string Request = """{"model": "qwen3", "messages": [{"role": "user", "content": "describe the sea"}]}""";
    private const string StreamedRequest = """{"model": "qwen3", "stream": true, "messages": [{"role": "user", "content": [{"type": "text", "text": "describe the sea"}]}]}""";

    [Fact]
    public async Task Chat_WithoutStream_AnswersChatCompletion()
    {
        using var response = await fixture.Host.PostJsonAsync("/v2/inference/chat/completions", Request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var completion = await SimulatorHost.ReadJsonAsync(response);
        Assert.Equal("chat.completion", completion.GetProperty("object").GetString());
        Assert.Equal("qwen3", completion.GetProperty("model").GetString());
        var choice = completion.GetProperty("choices")[0];
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Contains("describe the sea", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var usage = completion.GetProperty("usage");
        Assert.Equal(
            usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(),
            usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Chat_WithStream_SendsSeparateChunksThenDone()
    {
        // The gaps between events run on a clock the test moves on, one gap at a time.
        var clock = new TestClock();
        var delay = TimeSpan.FromMilliseconds(100);
        await using var sim = await SimulatorHost.StartAsync(new Dictionary<string, string?> { ["Simulator:ChatChunkDelayMs"] = "100" }, clock);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/inference/chat/completions")
        {
            Content = new StringContent(StreamedRequest, Encoding.UTF8, "application/json"),
        };

        using var response = await sim.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var gapsLetThrough = 0;
        var events = new ConcurrentQueue<(string Data, int GapsLetThrough)>();
        var reading = Task.Run(async () =>
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal)) events.Enqueue((line["data: ".Length..], Volatile.Read(ref gapsLetThrough)));
                else Assert.Equal("", line);
            }
        });
        // After each event the simulator waits out one gap on the clock (a timer of the delay),
        // and only then writes the next: every event must come after exactly one more gap.
        for (var received = 1; ; received++)
        {
            await Eventually.ThatAsync(() => Task.FromResult(events.Count >= received || reading.IsCompleted), 20, $"event {received}");
            if (reading.IsCompleted)
            {
                break;
            }
            if (events.Last().Data == "[DONE]")
            {
                await reading;
                break;
            }
            await clock.WaitForTimersAsync(delay, received);
            Interlocked.Increment(ref gapsLetThrough);
            clock.Advance(delay);
        }
        await reading;

        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e.GapsLetThrough));
        Assert.True(events.Count >= 4, $"expected several events, got {events.Count}");
        Assert.Equal("[DONE]", events.Last().Data);
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();
        Assert.All(chunks, chunk => Assert.Equal("chat.completion.chunk", chunk.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(chunk => chunk.GetProperty("id").GetString()).Distinct());
        var content = string.Concat(chunks.Select(chunk =>
            chunk.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var piece) ? piece.GetString() : ""));
        Assert.Contains("describe the sea", content);
        Assert.Equal("stop", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Theory]
    [InlineData("""{"model": "qwen3"}""")]
    [InlineData("""{"model": "qwen3", "messages": []}""")]
    [InlineData("""{"model": "qwen3", "messages": "hello"}""")]
    public async Task Chat_WithoutMessages_Returns400(string body)
    {
        using var response = await fixture.Host.PostJsonAsync("/v2/inference/chat/completions", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await SimulatorHost.ReadJsonAsync(response)).GetProperty("error");
        Assert.Equal("validation_error", error.GetProperty("type").GetString());
    }
}
