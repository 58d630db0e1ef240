namespace Reka.Gateway.Tests.Simulator;

public sealed class InferenceSubmitTests(SimulatorFixture fixture) : IClassFixture<SimulatorFixture>
{
    private SimulatorHost Sim => fixture.Host;

    [Fact]
    public async Task Submit_Returns202WithRequestIdAndAbsoluteUrls()
    {
        var accepted = await Sim.SubmitAsync();

        var requestId = accepted.GetProperty("request_id").GetString()!;
        Assert.True(Guid.TryParse(requestId, out _));
        Assert.Equal("IN_QUEUE", accepted.GetProperty("status").GetString());
        var requestUrl = $"{Sim.BaseAddress.GetLeftPart(UriPartial.Authority)}/v2/inference/requests/{requestId}";
        Assert.Equal($"{requestUrl}/status", accepted.GetProperty("status_url").GetString());
        Assert.Equal(requestUrl, accepted.GetProperty("response_url").GetString());
        Assert.Equal($"{requestUrl}/cancel", accepted.GetProperty("cancel_url").GetString());
    }

    [Fact]
    public async Task Submit_UrlsInAnswer_LeadToTheJob()
    {
        var accepted = await Sim.SubmitAsync();

        var status = await Sim.GetJsonAsync(accepted.GetProperty("status_url").GetString()!);
        var result = await Sim.GetJsonAsync(accepted.GetProperty("response_url").GetString()!);

        Assert.Equal(accepted.GetProperty("request_id").GetString(), status.GetProperty("request_id").GetString());
        Assert.Equal(SimulatorHost.SoraEndpoint, result.GetProperty("endpoint_id").GetString());
    }

    [Fact]
    public async Task Submit_WithSameIdempotencyKey_ReplaysOriginalRequest()
    {
        var model = $"model-{Guid.NewGuid():N}";
        var key = Guid.NewGuid().ToString();

        var first = await Sim.SubmitAsync($"{model}/image-to-video", idempotencyKey: key);
        var second = await Sim.SubmitAsync($"{model}/image-to-video", prompt: "something else", idempotencyKey: key);

        Assert.Equal(first.GetRawText(), second.GetRawText());
        var list = await Sim.GetJsonAsync($"/v2/inference/requests?model_id={model}");
        Assert.Single(list.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Submit_WithDifferentIdempotencyKeys_CreatesTwoRequests()
    {
        var first = await Sim.SubmitAsync(idempotencyKey: Guid.NewGuid().ToString());
        var second = await Sim.SubmitAsync(idempotencyKey: Guid.NewGuid().ToString());

        Assert.NotEqual(first.GetProperty("request_id").GetString(), second.GetProperty("request_id").GetString());
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"input\": \"a string\"}")]
    [InlineData("[1, 2]")]
    [InlineData("not json")]
    public async Task Submit_WithoutInputObject_Returns400ForInput(string body)
    {
        using var response = await Sim.PostJsonAsync("/v2/inference/sora-2-pro/image-to-video", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await SimulatorHost.ReadJsonAsync(response)).GetProperty("error");
        Assert.Equal("validation_error", error.GetProperty("type").GetString());
        Assert.Equal("input", error.GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("\"not a url\"")]
    [InlineData("\"ftp://example.com/hook\"")]
    [InlineData("42")]
    public async Task Submit_WithInvalidWebhookUrl_Returns400ForWebhookUrl(string webhookUrl)
    {
        using var response = await Sim.PostJsonAsync(
            "/v2/inference/sora-2-pro/image-to-video", $"{{\"input\": {{}}, \"webhook_url\": {webhookUrl}}}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await SimulatorHost.ReadJsonAsync(response)).GetProperty("error");
        Assert.Equal("webhook_url", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task Submit_ToAnyModelAndCapability_IsAccepted()
    {
        var requestId = await Sim.SubmitIdAsync("brand-new-model/text-to-speech");

        var result = await Sim.GetJsonAsync($"/v2/inference/requests/{requestId}");

        Assert.Equal("brand-new-model", result.GetProperty("model_id").GetString());
        Assert.Equal("text-to-speech", result.GetProperty("capability").GetString());
        Assert.Equal(JsonValueKind.Object, result.GetProperty("input").ValueKind);
    }
}
