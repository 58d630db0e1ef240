using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.Subscriptions;

/// <summary><c>PATCH /subscriptions/{id}</c>: a subscription disabled and enabled again.</summary>
public sealed class SubscriptionPatchTests : IAsyncLifetime
{
    private SimulatorHost _simulator = null!;
    private WebhookSubscriber _subscriber = null!;
    private GatewayHost _gateway = null!;
    private HttpClient _alice = null!;
    private HttpClient _ops = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorHost.StartForGatewayAsync();
        _subscriber = await WebhookSubscriber.StartAsync();
        _gateway = await GatewayHost.StartAsync(_simulator.BaseUrl);
        _alice = _gateway.CreateClient(TestClients.Alice);
        _ops = _gateway.CreateClient(TestClients.Ops);
    }

    public async Task DisposeAsync()
    {
        _alice.Dispose();
        _ops.Dispose();
        await _gateway.DisposeAsync();
        await _subscriber.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    private Task<HttpResponseMessage> PatchAsync(HttpClient client, string id, string json) =>
        client.PatchAsync($"/subscriptions/{id}", new StringContent(json, Encoding.UTF8, "application/json"));

    private async Task<JsonElement> SubscriptionAsync(string id) => JsonDocument.Parse(await _ops.GetStringAsync($"/subscriptions/{id}")).RootElement;

    [Fact]
    public async Task Patch_DisablesASubscription_ItGetsNoDeliveries_AndEnablingResumesThem()
    {
        var (paused, _) = await _ops.SubscribeAsync(_subscriber.Url("/paused"));
        var (witness, _) = await _ops.SubscribeAsync(_subscriber.Url("/witness"));

        var disabled = await PatchAsync(_ops, paused, """{"enabled": false}""");
        var view = JsonDocument.Parse(await disabled.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        Assert.False(view.GetProperty("enabled").GetBoolean());
        Assert.Contains("'ops'", view.GetProperty("disabled_reason").GetString());
        Assert.False((await SubscriptionAsync(paused)).GetProperty("enabled").GetBoolean());

        var first = await _alice.SubmitAsync();
        await _subscriber.WaitForAsync(1, path: "/witness");
        Assert.Empty((await _ops.DeliveriesAsync(paused)).EnumerateArray());
        Assert.DoesNotContain(_subscriber.Received, d => d.Path == "/paused");

        var enabled = await PatchAsync(_ops, paused, """{"enabled": true}""");
        Assert.Equal(HttpStatusCode.OK, enabled.StatusCode);
        var resumed = JsonDocument.Parse(await enabled.Content.ReadAsStringAsync()).RootElement;
        Assert.True(resumed.GetProperty("enabled").GetBoolean());
        Assert.False(resumed.TryGetProperty("disabled_reason", out _), "the API leaves out null fields");
        var second = await _alice.SubmitAsync();
        var received = await _subscriber.WaitForAsync(1, path: "/paused");
        Assert.Equal(second, Assert.Single(received).Json.GetProperty("request_id").GetString());
        Assert.NotEqual(first, second);
        Assert.Equal(2, (await _ops.DeliveriesAsync(witness)).GetArrayLength());
    }

    [Theory]
    [InlineData("""{}""", "enabled")]
    [InlineData("""{"enabled": null}""", "enabled")]
    [InlineData("""{"enabled": "no"}""", "enabled")]
    [InlineData("""{"enabled": false, "url": "http://127.0.0.1:9/elsewhere"}""", "url")]
    public async Task Patch_BadBody_Is400NamingTheField_AndChangesNothing(string json, string field)
    {
        var (id, _) = await _ops.SubscribeAsync(_subscriber.Url());

        await ProblemAssert.IsValidationProblemAsync(await PatchAsync(_ops, id, json), field);

        var subscription = await SubscriptionAsync(id);
        Assert.True(subscription.GetProperty("enabled").GetBoolean());
        Assert.Equal(_subscriber.Url(), subscription.GetProperty("url").GetString());
    }

    [Fact]
    public async Task Patch_ByANonAdmin_Is403_OfAnUnknownId_404_WithoutJson_415()
    {
        var (id, _) = await _ops.SubscribeAsync(_subscriber.Url());

        await ProblemAssert.IsProblemAsync(await PatchAsync(_alice, id, """{"enabled": false}"""), HttpStatusCode.Forbidden);
        await ProblemAssert.IsProblemAsync(await PatchAsync(_ops, "sub_000000000000000000000000", """{"enabled": false}"""), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(
            await _ops.PatchAsync($"/subscriptions/{id}", new StringContent("enabled=false", Encoding.UTF8, "application/x-www-form-urlencoded")),
            HttpStatusCode.UnsupportedMediaType);
        Assert.True((await SubscriptionAsync(id)).GetProperty("enabled").GetBoolean());
    }
}
