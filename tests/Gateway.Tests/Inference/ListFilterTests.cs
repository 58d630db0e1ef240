using Microsoft.AspNetCore.Http;

namespace Reka.Gateway.Tests.Inference;

/// <summary>The list answer of an ordinary client holds only its own requests, however upstream writes their ids.</summary>
[Collection(ProxyCollection.Name)]
public sealed class ListFilterTests(RecordingStack stack) : RecordingStackTests(stack)
{
    [Fact]
    public async Task List_KeepsTheClientsOwnItems_WhetherTheirIdIsEscapedOrNot_AndDropsTheOthers()
    {
        var alices = $"r-list-{Guid.NewGuid():N}";
        Upstream.AcceptSubmitsAs(alices);
        Assert.Equal(HttpStatusCode.Accepted, (await Alice.PostAsync("/v2/inference/sora-2-pro/image-to-video", JsonContent.Create(new { input = new { prompt = "x" } }))).StatusCode);
        // The same id twice, once with its first character as a JSON escape; then ids no one here owns.
        var page = $$"""{"items":[{"request_id":"\u0072{{alices[1..]}}","n":1},{"request_id":"{{alices}}","n":2},{"request_id":"r-list-{{Guid.NewGuid():N}}","n":3},{"request_id":42,"n":4},{"n":5}],"has_more":false}""";
        Upstream.Respond = context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(page);
        };

        // Twice: the second time the ids and their owners are already in the gateway's memory.
        for (var call = 0; call < 2; call++)
        {
            var items = JsonDocument.Parse(await Alice.GetStringAsync("/v2/inference/requests")).RootElement.GetProperty("items");

            Assert.Equal([1, 2], items.EnumerateArray().Select(item => item.GetProperty("n").GetInt32()));
            Assert.All(items.EnumerateArray(), item => Assert.Equal(alices, item.GetProperty("request_id").GetString()));
        }
    }

    [Fact]
    public async Task List_HoldingItemsTwice_IsRefusedWith502_ForWhichOneACallerReadsIsNotKnown()
    {
        var page = """{"items":[{"request_id":"r-someone-elses","n":1}],"items":[],"has_more":false}""";
        Upstream.Respond = context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(page);
        };

        var response = await Alice.GetAsync("/v2/inference/requests");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadGateway);
        Assert.DoesNotContain("r-someone-elses", problem.ToString());
    }

    [Theory]
    [InlineData("text/plain", null)]
    [InlineData("application/json", "br")]
    public async Task List_TheFilterCannotRead_IsRefusedWith502_NotPassedOnUnfiltered(string contentType, string? contentEncoding)
    {
        var page = $$"""{"items":[{"request_id":"r-someone-elses-{{Guid.NewGuid():N}}","n":1}],"has_more":false}""";
        Upstream.Respond = context =>
        {
            context.Response.ContentType = contentType;
            if (contentEncoding is not null)
            {
                context.Response.Headers.ContentEncoding = contentEncoding;
            }
            return context.Response.WriteAsync(page);
        };

        var response = await Alice.GetAsync("/v2/inference/requests");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadGateway);
        Assert.DoesNotContain("r-someone-elses", problem.ToString());
        Assert.Contains("not a JSON body of at most 8388608 bytes", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task List_WhoseAnswerBreaksOff_IsRefusedWith502_SayingSo()
    {
        Upstream.Respond = async context =>
        {
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = 100;
            await context.Response.WriteAsync("""{"items":[{"request_id":"r-someone-elses",""");
            // Returning short of its Content-Length, the answer is cut off by Kestrel.
        };

        var response = await Alice.GetAsync("/v2/inference/requests");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadGateway);
        Assert.DoesNotContain("r-someone-elses", problem.ToString());
        Assert.StartsWith("Upstream's answer broke off before its end: ", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task List_TooLargeToBuffer_IsRefusedWith502_NotStreamedOnUnfiltered()
    {
        // Chunked (no Content-Length), so the size shows only while the page is read: over 8 MiB.
        var page = $$"""{"items":[{"request_id":"r-someone-elses","n":1}],"pad":"{{new string('x', 9 * 1024 * 1024)}}","has_more":false}""";
        Upstream.Respond = async context =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(page[..100]);
            await context.Response.Body.FlushAsync();
            await context.Response.WriteAsync(page[100..]);
        };

        var response = await Alice.GetAsync("/v2/inference/requests");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadGateway);
        Assert.DoesNotContain("r-someone-elses", problem.ToString());
    }

    [Fact]
    public async Task List_WhoseIdIsNotValidUtf8_IsRefusedWith502_NotReadAsAnotherId()
    {
        // Decoded with replacement characters, the id would be a string that is not the page's
        // value: ownership cannot be told, so the page is not shown (as before the pooled ids).
        var page = Encoding.UTF8.GetBytes("""{"items":[{"request_id":"r-X","n":1}],"has_more":false}""");
        page[Array.IndexOf(page, (byte)'X')] = 0xFF;
        Upstream.Respond = context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.Body.WriteAsync(page).AsTask();
        };

        var response = await Alice.GetAsync("/v2/inference/requests");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadGateway);
        Assert.DoesNotContain("\"n\"", problem.ToString());
    }
}
