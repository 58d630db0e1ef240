using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Xunit;

using Reka.Gateway.Tests.Support;

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
        const int delayMs = 100;
        await using var sim = await SimulatorHost.StartAsync(new Dictionary<string, string?> { ["Simulator:ChatChunkDelayMs"] = $"{delayMs}" });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/inference/chat/completions")
        {
            Content = new StringContent(StreamedRequest, Encoding.UTF8, "application/json"),
        };

        using var response = await sim.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var clock = Stopwatch.StartNew();
        var events = new List<(string Data, TimeSpan At)>();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal)) events.Add((line["data: ".Length..], clock.Elapsed));
            else Assert.Equal("", line);
        }

        Assert.True(events.Count >= 4, $"expected several events, got {events.Count}");
        Assert.Equal("[DONE]", events[^1].Data);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();
        Assert.All(chunks, chunk => Assert.Equal("chat.completion.chunk", chunk.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(chunk => chunk.GetProperty("id").GetString()).Distinct());
        var content = string.Concat(chunks.Select(chunk =>
            chunk.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var piece) ? piece.GetString() : ""));
        Assert.Contains("describe the sea", content);
        Assert.Equal("stop", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        // Each event arrives on its own, about delayMs after the previous one, not in one burst.
        for (var i = 1; i < events.Count; i++)
            Assert.True((events[i].At - events[i - 1].At).TotalMilliseconds >= delayMs / 2.0, $"event {i} came with the previous one");
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
