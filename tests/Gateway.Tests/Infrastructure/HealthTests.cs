using System.Net;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.Infrastructure;

public sealed class HealthTests
{
    [Fact]
    public async Task Healthz_AndReadyz_AnswerWithoutAKey()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl);
        using var http = gateway.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        var ready = await http.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("accepting-traffic", await ready.Content.ReadAsStringAsync());
        Assert.Empty(upstream.Requests);
    }
}
