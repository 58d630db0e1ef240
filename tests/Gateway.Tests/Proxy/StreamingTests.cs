using Microsoft.AspNetCore.Http;

namespace Reka.Gateway.Tests.Proxy;

[Collection(ProxyCollection.Name)]
public sealed class StreamingTests(RecordingStack stack) : RecordingStackTests(stack)
{
    [Fact]
    public async Task ChatServerSentEvents_ReachTheCallerAsUpstreamSendsThem()
    {
        var firstEventSeenByCaller = new TaskCompletionSource();
        Upstream.Respond = async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n");
            await context.Response.Body.FlushAsync();
            // The rest is only sent once the caller has the first event: a buffering proxy would hang here.
            await firstEventSeenByCaller.Task.WaitAsync(TimeSpan.FromSeconds(20));
            await context.Response.WriteAsync("data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\ndata: [DONE]\n\n");
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/inference/chat/completions")
        {
            Content = JsonContent.Create(new { model = "qwen", stream = true, messages = new[] { new { role = "user", content = "hi" } } }),
        };

        using var response = await Alice.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
        firstEventSeenByCaller.SetResult();
        var rest = await reader.ReadToEndAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Hel", first);
        Assert.Contains("data: [DONE]", rest);
    }
}
