using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.Subscriptions;

public sealed class SubscriptionsApiTests : IAsyncLifetime
{
    private RecordingUpstream _upstream = null!;
    private GatewayHost _gateway = null!;
    private HttpClient _ops = null!;

    public async Task InitializeAsync()
    {
        _upstream = await RecordingUpstream.StartAsync();
        _gateway = await GatewayHost.StartAsync(_upstream.BaseUrl);
        _ops = _gateway.CreateClient(TestClients.Ops);
    }

    public async Task DisposeAsync()
    {
        _ops.Dispose();
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task Create_ShowsTheSecretOnce_ListAndGetNever_DeleteRemoves()
    {
        var created = await _ops.PostAsJsonAsync("/subscriptions", new
        {
            url = "http://127.0.0.1:9/hooks",
            filter = new { model_id = new[] { "sora-2-pro" }, status = new[] { "COMPLETED", "FAILED" } },
            description = "video team",
        });
        var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        var id = body.GetProperty("id").GetString()!;

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/subscriptions/{id}", created.Headers.Location?.ToString());
        Assert.StartsWith("whsec_", body.GetProperty("secret").GetString());
        Assert.Equal(32, Convert.FromBase64String(body.GetProperty("secret").GetString()!["whsec_".Length..]).Length);
        var listed = await _ops.GetStringAsync("/subscriptions");
        var got = await _ops.GetStringAsync($"/subscriptions/{id}");
        Assert.Contains(id, listed);
        Assert.DoesNotContain("whsec_", listed + got);
        Assert.Equal("sora-2-pro", JsonDocument.Parse(got).RootElement.GetProperty("filter").GetProperty("model_id")[0].GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await _ops.DeleteAsync($"/subscriptions/{id}")).StatusCode);
        await ProblemAssert.IsProblemAsync(await _ops.GetAsync($"/subscriptions/{id}"), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await _ops.DeleteAsync($"/subscriptions/{id}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task NonAdminClient_Gets403ProblemDetails()
    {
        using var alice = _gateway.CreateClient(TestClients.Alice);

        var response = await alice.PostAsJsonAsync("/subscriptions", new { url = "http://127.0.0.1:9/hooks" });

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains("alice", problem.GetProperty("detail").GetString());
        await ProblemAssert.IsProblemAsync(await alice.GetAsync("/subscriptions"), HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("""{"description":"no url"}""")]
    [InlineData("""{"url":"not a url"}""")]
    [InlineData("""{"url":"ftp://127.0.0.1/x"}""")]
    [InlineData("""{"url":"https://attacker.example/collect"}""")]
    [InlineData("""{"url":"http://10.0.0.7/metadata"}""")]
    public async Task Create_WithAUrlThatIsMissingOrNotOnAnAllowedHost_Returns400(string json)
    {
        var response = await _ops.PostAsync("/subscriptions", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        await ProblemAssert.IsValidationProblemAsync(response, "url");
        Assert.Equal("[]", await _ops.GetStringAsync("/subscriptions"));
    }

    [Fact]
    public async Task Create_WithMalformedJson_Returns400ProblemDetails()
    {
        var response = await _ops.PostAsync("/subscriptions", new StringContent("{\"url\":", System.Text.Encoding.UTF8, "application/json"));

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
    }

    private static ByteArrayContent Body(byte[] utf8, string? contentType = "application/json")
    {
        var content = new ByteArrayContent(utf8);
        content.Headers.ContentType = contentType is null ? null : MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    [Theory]
    [InlineData("""{"url":"http://127.0.0.1:9/a","url":"http://127.0.0.1:9/b"}""", "url", "$.url")]
    [InlineData("""{"url":"http://127.0.0.1:9/a","filter":{"status":["COMPLETED"],"status":["FAILED"]}}""", "filter.status", "$.filter.status")]
    public async Task Create_WithARepeatedMember_Returns400NamingIt_AndLogsNoError(string json, string field, string path)
    {
        var response = await _ops.PostAsync("/subscriptions", Body(Encoding.UTF8.GetBytes(json)));

        var problem = await ProblemAssert.IsValidationProblemAsync(response, field);
        Assert.Contains(path, problem.GetProperty("detail").GetString());
        Assert.Empty(_gateway.Logs.Errors);
        Assert.Equal("[]", await _ops.GetStringAsync("/subscriptions"));
    }

    [Fact]
    public async Task Create_WithAStringThatIsNotValidUnicode_Returns400NamingIt()
    {
        byte[] json = [.. """{"url":"http://127.0.0.1:9/a","description":"ops"""u8, 0xFF, .. "\"}"u8];

        var response = await _ops.PostAsync("/subscriptions", Body(json));

        var problem = await ProblemAssert.IsValidationProblemAsync(response, "description");
        Assert.Contains("$.description", problem.GetProperty("detail").GetString());
        Assert.Empty(_gateway.Logs.Errors);
        Assert.Equal("[]", await _ops.GetStringAsync("/subscriptions"));
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData(null)]
    public async Task Create_WithoutAJsonContentType_Returns415WithADetailNamingApplicationJson(string? contentType)
    {
        var response = await _ops.PostAsync("/subscriptions", Body("""{"url":"http://127.0.0.1:9/a"}"""u8.ToArray(), contentType));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("application/json", problem.GetProperty("detail").GetString());
        Assert.Equal("[]", await _ops.GetStringAsync("/subscriptions"));
    }

    [Theory]
    [InlineData("http://hook-user:hook-s3cret@127.0.0.1:9/hooks")]
    [InlineData("http://hook-user@127.0.0.1:9/hooks")]
    public async Task Create_WithAUrlCarryingUserInformation_Returns400WithoutRepeatingIt(string url)
    {
        var response = await _ops.PostAsJsonAsync("/subscriptions", new { url });

        var problem = await ProblemAssert.IsValidationProblemAsync(response, "url");
        Assert.DoesNotContain("hook-", problem.GetRawText());
        Assert.DoesNotContain(_gateway.Logs.Entries, e => e.Message.Contains("hook-"));
        Assert.Equal("[]", await _ops.GetStringAsync("/subscriptions"));
    }

    [Fact]
    public async Task Create_OnAHostAllowedWithoutAPort_AcceptsItsDefaultPortsOnly()
    {
        await using var gateway = await GatewayHost.StartAsync(_upstream.BaseUrl,
            [new("Webhooks:AllowedSubscriberHosts:0", "127.0.0.1"), new("Webhooks:AllowedSubscriberHosts:1", "localhost")]);
        using var ops = gateway.CreateClient(TestClients.Ops);

        var redis = await ops.PostAsJsonAsync("/subscriptions", new { url = "http://127.0.0.1:6379/" });
        var other = await ops.PostAsJsonAsync("/subscriptions", new { url = "http://localhost:8080/hooks" });
        var http = await ops.PostAsJsonAsync("/subscriptions", new { url = "http://127.0.0.1/hooks" });
        var https = await ops.PostAsJsonAsync("/subscriptions", new { url = "https://localhost:443/hooks" });

        var problem = await ProblemAssert.IsValidationProblemAsync(redis, "url");
        Assert.Contains("127.0.0.1:6379", problem.GetProperty("detail").GetString());
        await ProblemAssert.IsValidationProblemAsync(other, "url");
        Assert.Equal(HttpStatusCode.Created, http.StatusCode);
        Assert.Equal(HttpStatusCode.Created, https.StatusCode);
    }
}
