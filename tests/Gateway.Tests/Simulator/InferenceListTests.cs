namespace Reka.Gateway.Tests.Simulator;

/// <summary>
/// The list route, on a simulator that holds jobs in the queue so statuses stay put; shared by the
/// class, each test lists the jobs of a model of its own.
/// </summary>
public sealed class InferenceListTests(HeldJobsSimulatorFixture fixture) : IClassFixture<HeldJobsSimulatorFixture>
{
    private readonly SimulatorHost _sim = fixture.Host;

    [Fact]
    public async Task List_FiltersByEndpointModelCapabilityAndStatus()
    {
        var model = NewModel();
        var video = await _sim.SubmitIdAsync($"{model}/image-to-video");
        var image = await _sim.SubmitIdAsync($"{model}/text-to-image");
        var other = await _sim.SubmitIdAsync($"{NewModel()}/image-to-video");
        await _sim.Client.PostAsync($"/_simulator/requests/{image}/complete", null);

        Assert.Equal([image, video], await IdsAsync($"model_id={model}"));
        Assert.Equal([video], await IdsAsync($"endpoint_id={model}/image-to-video"));
        Assert.Equal([image], await IdsAsync($"model_id={model}&capability=text-to-image"));
        Assert.Equal([image], await IdsAsync($"model_id={model}&status=COMPLETED"));
        Assert.Equal([video], await IdsAsync($"model_id={model}&status=IN_QUEUE"));
        Assert.DoesNotContain(other, await IdsAsync($"model_id={model}"));
    }

    [Fact]
    public async Task List_PagesNewestFirst_WithNextOffsetAndHasMore()
    {
        var model = NewModel();
        var submitted = new List<string>();
        for (var i = 0; i < 5; i++) submitted.Add(await _sim.SubmitIdAsync($"{model}/image-to-video"));
        submitted.Reverse();

        var first = await _sim.GetJsonAsync($"/v2/inference/requests?model_id={model}&limit=2");
        var second = await _sim.GetJsonAsync($"/v2/inference/requests?model_id={model}&limit=2&offset=2");
        var last = await _sim.GetJsonAsync($"/v2/inference/requests?model_id={model}&limit=2&offset=4");

        Assert.Equal(submitted[..2], Ids(first));
        Assert.True(first.GetProperty("has_more").GetBoolean());
        Assert.Equal(2, first.GetProperty("next_offset").GetInt32());
        Assert.Equal(submitted[2..4], Ids(second));
        Assert.Equal(4, second.GetProperty("next_offset").GetInt32());
        Assert.Equal(submitted[4..], Ids(last));
        Assert.False(last.GetProperty("has_more").GetBoolean());
        Assert.Equal(JsonValueKind.Null, last.GetProperty("next_offset").ValueKind);
    }

    [Fact]
    public async Task List_WithoutExpand_LeavesOutPayloads()
    {
        var model = NewModel();
        await _sim.SubmitIdAsync($"{model}/image-to-video");

        var item = (await _sim.GetJsonAsync($"/v2/inference/requests?model_id={model}")).GetProperty("items")[0];

        Assert.False(item.TryGetProperty("input", out _));
        Assert.False(item.TryGetProperty("output", out _));
        foreach (var field in new[] { "request_id", "status", "endpoint_id", "model_id", "capability", "created_at", "started_at", "completed_at", "error" })
            Assert.True(item.TryGetProperty(field, out _), $"missing {field}");
    }

    [Theory]
    [InlineData("expand=payloads")]
    [InlineData("expand=payloads,payloads")]
    [InlineData("expand=payloads&expand=payloads")]
    public async Task List_WithExpandPayloads_AddsInputAndOutput(string expand)
    {
        var model = NewModel();
        await _sim.SubmitIdAsync($"{model}/image-to-video");

        var item = (await _sim.GetJsonAsync($"/v2/inference/requests?model_id={model}&{expand}")).GetProperty("items")[0];

        Assert.Equal("a cat surfing", item.GetProperty("input").GetProperty("prompt").GetString());
        Assert.Equal(JsonValueKind.Null, item.GetProperty("output").ValueKind);
    }

    [Fact]
    public async Task List_FiltersByStartInclusiveAndEndExclusive()
    {
        var model = NewModel();
        var first = await _sim.SubmitIdAsync($"{model}/image-to-video");
        var second = await _sim.SubmitIdAsync($"{model}/image-to-video");
        var third = await _sim.SubmitIdAsync($"{model}/image-to-video");
        var secondCreated = (await _sim.GetJsonAsync($"/v2/inference/requests/{second}")).GetProperty("created_at").GetString()!;
        var thirdCreated = (await _sim.GetJsonAsync($"/v2/inference/requests/{third}")).GetProperty("created_at").GetString()!;

        var ids = await IdsAsync($"model_id={model}&start={Uri.EscapeDataString(secondCreated)}&end={Uri.EscapeDataString(thirdCreated)}");

        Assert.Equal([second], ids);
        Assert.DoesNotContain(first, await IdsAsync($"model_id={model}&start={Uri.EscapeDataString(secondCreated)}"));
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=101", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("offset=-1", "offset")]
    [InlineData("start=yesterday", "start")]
    [InlineData("end=2024-13-45", "end")]
    [InlineData("expand=everything", "expand")]
    public async Task List_WithInvalidParameter_Returns400NamingIt(string query, string param)
    {
        using var response = await _sim.Client.GetAsync($"/v2/inference/requests?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await SimulatorHost.ReadJsonAsync(response)).GetProperty("error");
        Assert.Equal("validation_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task List_DefaultsToPagesOf25()
    {
        var model = NewModel();
        for (var i = 0; i < 26; i++) await _sim.SubmitIdAsync($"{model}/image-to-video");

        var page = await _sim.GetJsonAsync($"/v2/inference/requests?model_id={model}");

        Assert.Equal(25, page.GetProperty("items").GetArrayLength());
        Assert.Equal(25, page.GetProperty("next_offset").GetInt32());
    }

    private static string NewModel() => $"model-{Guid.NewGuid():N}";

    private async Task<List<string>> IdsAsync(string query) =>
        Ids(await _sim.GetJsonAsync($"/v2/inference/requests?{query}"));

    private static List<string> Ids(JsonElement page) =>
        page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("request_id").GetString()!).ToList();
}
