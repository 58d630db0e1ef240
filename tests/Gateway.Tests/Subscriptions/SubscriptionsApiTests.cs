using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Subscriptions;

namespace Reka.Gateway.Tests.Subscriptions;

/// <summary>The subscriptions API; the stack deletes every subscription after each test, so each starts with none.</summary>
[Collection(ProxyCollection.Name)]
public sealed class SubscriptionsApiTests(RecordingStack stack) : RecordingStackTests(stack)
{
    [Fact]
    public async Task Create_ShowsTheSecretOnce_ListAndGetNever_DeleteRemoves()
    {
        var created = await Ops.PostAsJsonAsync("/subscriptions", new
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
        var listed = await Ops.GetStringAsync("/subscriptions");
        var got = await Ops.GetStringAsync($"/subscriptions/{id}");
        Assert.Contains(id, listed);
        Assert.DoesNotContain("whsec_", listed + got);
        Assert.Equal("sora-2-pro", JsonDocument.Parse(got).RootElement.GetProperty("filter").GetProperty("model_id")[0].GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await Ops.DeleteAsync($"/subscriptions/{id}")).StatusCode);
        await ProblemAssert.IsProblemAsync(await Ops.GetAsync($"/subscriptions/{id}"), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await Ops.DeleteAsync($"/subscriptions/{id}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Create_UnderAnIdempotencyKey_ARetryAnswersTheSameSubscriptionAndSecret_AndAnotherBodyUnderItIs422()
    {
        var key = Guid.NewGuid().ToString();
        var body = new { url = "http://127.0.0.1:9/hooks", filter = new { status = new[] { "COMPLETED" } }, description = "video team" };

        using var first = await Ops.PostSubscriptionAsync(body, key);
        using var retried = await Ops.PostSubscriptionAsync(body, key);
        using var other = await Ops.PostSubscriptionAsync(new { url = "http://127.0.0.1:9/other" }, key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        var created = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement;
        var replayed = JsonDocument.Parse(await retried.Content.ReadAsStringAsync()).RootElement;
        var id = created.GetProperty("id").GetString()!;
        Assert.Equal(id, replayed.GetProperty("id").GetString());
        Assert.Equal(created.GetProperty("secret").GetString(), replayed.GetProperty("secret").GetString());
        Assert.Equal(created.GetProperty("created_at").GetString(), replayed.GetProperty("created_at").GetString());
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", Assert.Single(retried.Headers.GetValues("Idempotent-Replayed")));
        var problem = await ProblemAssert.IsProblemAsync(other, HttpStatusCode.UnprocessableEntity);
        Assert.Contains(id, problem.GetProperty("detail").GetString());
        var listed = JsonDocument.Parse(await Ops.GetStringAsync("/subscriptions")).RootElement;
        Assert.Equal(id, Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task Create_UnderTheIdempotencyKeyOfADeletedSubscription_Is409NamingItAndTheDeletion_AndCreatesNothing()
    {
        var key = Guid.NewGuid().ToString();
        var body = new { url = "http://127.0.0.1:9/hooks" };
        using var first = await Ops.PostSubscriptionAsync(body, key);
        var id = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.NoContent, (await Ops.DeleteAsync($"/subscriptions/{id}")).StatusCode);

        using var retried = await Ops.PostSubscriptionAsync(body, key);
        using var anotherKey = await Ops.PostSubscriptionAsync(body, Guid.NewGuid().ToString());

        var detail = (await ProblemAssert.IsProblemAsync(retried, HttpStatusCode.Conflict)).GetProperty("detail").GetString()!;
        var deletedAt = DeletedAt(detail, id);
        Assert.Contains("send a new key", detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, anotherKey.StatusCode);
        var listed = JsonDocument.Parse(await Ops.GetStringAsync("/subscriptions")).RootElement;
        Assert.NotEqual(id, Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());
        // The record of the deletion is no subscription: it is neither read nor deleted as one.
        await ProblemAssert.IsProblemAsync(await Ops.GetAsync($"/subscriptions/deleted:{id}"), HttpStatusCode.NotFound);
        await ProblemAssert.IsProblemAsync(await Ops.DeleteAsync($"/subscriptions/deleted:{id}"), HttpStatusCode.NotFound);
        Stack.Clock.Advance(TimeSpan.FromMinutes(1));
        using var again = await Ops.PostSubscriptionAsync(body, key);
        var stillRefused = (await ProblemAssert.IsProblemAsync(again, HttpStatusCode.Conflict)).GetProperty("detail").GetString()!;
        // The time is the deletion's (on the stack's clock, a minute before), not the refused call's.
        Assert.Equal(deletedAt, DeletedAt(stillRefused, id));
    }

    private static DateTimeOffset DeletedAt(string detail, string id)
    {
        var match = System.Text.RegularExpressions.Regex.Match(detail, $"subscription '{id}', which was deleted at (\\S+);");
        Assert.True(match.Success, detail);
        return DateTimeOffset.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Create_UnderTheIdempotencyKeyOfASubscriptionDeletedMoreThan24HoursAgo_CreatesItAgain()
    {
        var clock = new TestClock();
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl, clock: clock);
        using var ops = gateway.CreateClient(TestClients.Ops);
        var key = Guid.NewGuid().ToString();
        var body = new { url = "http://127.0.0.1:9/hooks" };
        using var first = await ops.PostSubscriptionAsync(body, key);
        var id = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.NoContent, (await ops.DeleteAsync($"/subscriptions/{id}")).StatusCode);

        clock.Advance(TimeSpan.FromHours(24) - TimeSpan.FromSeconds(1));
        using var withinADay = await ops.PostSubscriptionAsync(body, key);
        clock.Advance(TimeSpan.FromSeconds(2));
        using var afterADay = await ops.PostSubscriptionAsync(body, key);

        await ProblemAssert.IsProblemAsync(withinADay, HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.Created, afterADay.StatusCode);
        Assert.False(afterADay.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(id, JsonDocument.Parse(await afterADay.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString());
        // Deleted again, it is remembered again, from this deletion on.
        Assert.Equal(HttpStatusCode.NoContent, (await ops.DeleteAsync($"/subscriptions/{id}")).StatusCode);
        await ProblemAssert.IsProblemAsync(await ops.PostSubscriptionAsync(body, key), HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Delete_ForgetsTheIdsDeletedMoreThan24HoursBefore()
    {
        var clock = new TestClock();
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl, clock: clock);
        using var ops = gateway.CreateClient(TestClients.Ops);
        var redis = gateway.Services.GetRequiredService<RedisStore>();
        async Task<string> CreateAndDeleteAsync(string url)
        {
            using var created = await ops.PostSubscriptionAsync(new { url }, Guid.NewGuid().ToString());
            var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
            Assert.Equal(HttpStatusCode.NoContent, (await ops.DeleteAsync($"/subscriptions/{id}")).StatusCode);
            return id;
        }
        Task<bool> RememberedAsync(string id) => redis.Database.HashExistsAsync(redis.Key("subscriptions"), $"deleted:{id}");

        var old = await CreateAndDeleteAsync("http://127.0.0.1:9/old");
        clock.Advance(TimeSpan.FromHours(12));
        var recent = await CreateAndDeleteAsync("http://127.0.0.1:9/recent");
        var heldBefore = await RememberedAsync(old);
        clock.Advance(TimeSpan.FromHours(12) + TimeSpan.FromSeconds(1));
        var latest = await CreateAndDeleteAsync("http://127.0.0.1:9/latest");

        Assert.True(heldBefore);
        Assert.False(await RememberedAsync(old));
        Assert.True(await RememberedAsync(recent));
        Assert.True(await RememberedAsync(latest));
    }

    [Theory]
    [InlineData("")]
    [InlineData(256)]
    public async Task Create_UnderAnIdempotencyKeyEmptyOrLongerThan255_Returns400NamingTheHeader_AndCreatesNothing(object key)
    {
        using var response = await Ops.PostSubscriptionAsync(new { url = "http://127.0.0.1:9/hooks" }, key is int length ? new string('k', length) : (string)key);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("Idempotency-Key", out _), problem.ToString());
        Assert.Equal("[]", await Ops.GetStringAsync("/subscriptions"));
    }

    [Fact]
    public void TheIdOfASubscriptionCreatedUnderAKey_IsTheSameForItsClientAndKey_AndDiffersForAnotherClientOrKey()
    {
        var id = SubscriptionStore.IdFor("ops", "key-1");

        Assert.Matches("^sub_[0-9a-f]{24}$", id);
        Assert.Equal(id, SubscriptionStore.IdFor("ops", "key-1"));
        Assert.NotEqual(id, SubscriptionStore.IdFor("ops2", "key-1"));
        Assert.NotEqual(id, SubscriptionStore.IdFor("ops", "key-2"));
        // The separator keeps a name's end from passing for a key's start.
        Assert.NotEqual(SubscriptionStore.IdFor("ops", "xkey"), SubscriptionStore.IdFor("opsx", "key"));
    }

    [Fact]
    public async Task NonAdminClient_Gets403ProblemDetails()
    {
        var response = await Alice.PostAsJsonAsync("/subscriptions", new { url = "http://127.0.0.1:9/hooks" });

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains("alice", problem.GetProperty("detail").GetString());
        await ProblemAssert.IsProblemAsync(await Alice.GetAsync("/subscriptions"), HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("""{"description":"no url"}""")]
    [InlineData("""{"url":"not a url"}""")]
    [InlineData("""{"url":"ftp://127.0.0.1/x"}""")]
    [InlineData("""{"url":"https://attacker.example/collect"}""")]
    [InlineData("""{"url":"http://10.0.0.7/metadata"}""")]
    public async Task Create_WithAUrlThatIsMissingOrNotOnAnAllowedHost_Returns400(string json)
    {
        var response = await Ops.PostAsync("/subscriptions", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        await ProblemAssert.IsValidationProblemAsync(response, "url");
        Assert.Equal("[]", await Ops.GetStringAsync("/subscriptions"));
    }

    [Fact]
    public async Task Create_WithMalformedJson_Returns400ProblemDetails()
    {
        var response = await Ops.PostAsync("/subscriptions", new StringContent("{\"url\":", System.Text.Encoding.UTF8, "application/json"));

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
        var response = await Ops.PostAsync("/subscriptions", Body(Encoding.UTF8.GetBytes(json)));

        var problem = await ProblemAssert.IsValidationProblemAsync(response, field);
        Assert.Contains(path, problem.GetProperty("detail").GetString());
        Assert.Empty(Gateway.Logs.Errors);
        Assert.Equal("[]", await Ops.GetStringAsync("/subscriptions"));
    }

    [Fact]
    public async Task Create_WithAStringThatIsNotValidUnicode_Returns400NamingIt()
    {
        byte[] json = [.. """{"url":"http://127.0.0.1:9/a","description":"ops"""u8, 0xFF, .. "\"}"u8];

        var response = await Ops.PostAsync("/subscriptions", Body(json));

        var problem = await ProblemAssert.IsValidationProblemAsync(response, "description");
        Assert.Contains("$.description", problem.GetProperty("detail").GetString());
        Assert.Empty(Gateway.Logs.Errors);
        Assert.Equal("[]", await Ops.GetStringAsync("/subscriptions"));
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData(null)]
    public async Task Create_WithoutAJsonContentType_Returns415WithADetailNamingApplicationJson(string? contentType)
    {
        var response = await Ops.PostAsync("/subscriptions", Body("""{"url":"http://127.0.0.1:9/a"}"""u8.ToArray(), contentType));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Contains("application/json", problem.GetProperty("detail").GetString());
        Assert.Equal("[]", await Ops.GetStringAsync("/subscriptions"));
    }

    [Theory]
    [InlineData("http://hook-user:hook-s3cret@127.0.0.1:9/hooks")]
    [InlineData("http://hook-user@127.0.0.1:9/hooks")]
    public async Task Create_WithAUrlCarryingUserInformation_Returns400WithoutRepeatingIt(string url)
    {
        var response = await Ops.PostAsJsonAsync("/subscriptions", new { url });

        var problem = await ProblemAssert.IsValidationProblemAsync(response, "url");
        Assert.DoesNotContain("hook-", problem.GetRawText());
        Assert.DoesNotContain(Gateway.Logs.Entries, e => e.Message.Contains("hook-"));
        Assert.Equal("[]", await Ops.GetStringAsync("/subscriptions"));
    }

    [Fact]
    public async Task Create_OnAHostAllowedWithoutAPort_AcceptsItsDefaultPortsOnly()
    {
        var gateway = await Stack.StartGatewayAsync(("Webhooks:AllowedSubscriberHosts:0", "127.0.0.1"), ("Webhooks:AllowedSubscriberHosts:1", "localhost"));
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
