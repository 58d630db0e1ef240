using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.Proxy;

public sealed class UrlRewritingTests
{
    [Fact]
    public async Task SubmitAnswer_PointsAtTheGateway_NotAtUpstream()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl, [new("Gateway:PublicBaseUrl", "https://gateway.internal.example")]);
        upstream.Respond = async context =>
        {
            context.Response.StatusCode = 202;
            await context.Response.WriteAsJsonAsync(new
            {
                request_id = "r-9",
                status = "IN_QUEUE",
                status_url = $"{upstream.BaseUrl}/v2/inference/requests/r-9/status",
                response_url = $"{upstream.BaseUrl}/v2/inference/requests/r-9",
                cancel_url = $"{upstream.BaseUrl}/v2/inference/requests/r-9/cancel?reason=x",
                note = $"{upstream.BaseUrl}/left-alone",
            });
        };
        using var http = gateway.CreateClient(TestClients.Alice);

        var response = await http.PostAsync("/v2/inference/sora-2-pro/image-to-video", JsonContent.Create(new { input = new { prompt = "x" } }));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("https://gateway.internal.example/v2/inference/requests/r-9/status", body.GetProperty("status_url").GetString());
        Assert.Equal("https://gateway.internal.example/v2/inference/requests/r-9", body.GetProperty("response_url").GetString());
        Assert.Equal("https://gateway.internal.example/v2/inference/requests/r-9/cancel?reason=x", body.GetProperty("cancel_url").GetString());
        Assert.Equal($"{upstream.BaseUrl}/left-alone", body.GetProperty("note").GetString());
        Assert.Equal("r-9", body.GetProperty("request_id").GetString());
    }

    [Fact]
    public async Task AnswerWithoutUpstreamUrls_IsRelayedByteForByte()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl);
        const string body = """{ "items" : [ {"request_id":"a","status":"COMPLETED"} ], "next_offset":null, "has_more":false }""";
        upstream.Respond = context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(body);
        };
        using var http = gateway.CreateClient(TestClients.Ops); // an admin's list is not filtered

        var response = await http.GetAsync("/v2/inference/requests");

        Assert.Equal(body, await response.Content.ReadAsStringAsync());
    }
}
