namespace Reka.Gateway.Tests.Infrastructure;

[Collection(ProxyCollection.Name)]
public sealed class HealthTests(RecordingStack stack) : RecordingStackTests(stack)
{
    [Fact]
    public async Task Healthz_AndReadyz_AnswerWithoutAKey()
    {
        using var http = Gateway.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        var ready = await http.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("accepting-traffic", await ready.Content.ReadAsStringAsync());
        Assert.Empty(Upstream.Requests);
    }
}
