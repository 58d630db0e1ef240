using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Reka.Gateway.Tests.Support;

/// <summary>One delivery as the subscriber received it: the raw body and every header.</summary>
public sealed record ReceivedDelivery(string Path, string Body, IReadOnlyDictionary<string, string> Headers, DateTimeOffset At)
{
    /// <summary>The body as JSON.</summary>
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    /// <summary>A header's value.</summary>
    public string Header(string name) => Headers[name];
}

/// <summary>
/// An internal service that subscribes to the gateway's webhooks: a real Kestrel host on loopback
/// that records each delivery (raw body and headers) and answers as the test scripts it
/// (by default 204). Shared by the tests of a stack, it gives each test a scope of its own
/// (<see cref="BeginScope"/>): URLs under a path of its own, its own record and script, so that a
/// delivery still coming for an earlier test reaches neither.
/// </summary>
public sealed class WebhookSubscriber : IAsyncDisposable
{
    private static readonly Func<HttpContext, Task> Answer204 = context =>
    {
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    };

    private readonly WebApplication _app;
    private Scope _scope = new("");

    private WebhookSubscriber(WebApplication app) => _app = app;

    /// <summary>Answers each delivery of the current scope after it is recorded (204 until a test says otherwise).</summary>
    public Func<HttpContext, Task> Respond
    {
        get => Volatile.Read(ref _scope).Respond;
        set => Volatile.Read(ref _scope).Respond = value;
    }

    /// <summary>The subscriber's base URL, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string BaseUrl => _app.Urls.First();

    /// <summary>A URL on this subscriber, in the current scope.</summary>
    public string Url(string path = "/hooks") => BaseUrl + Volatile.Read(ref _scope).Prefix + path;

    /// <summary>Deliveries received in the current scope so far, in order (their paths without the scope's).</summary>
    public IReadOnlyList<ReceivedDelivery> Received => [.. Volatile.Read(ref _scope).Received];

    /// <summary>
    /// Starts a new scope: new URLs, nothing received, 204 answers. Deliveries to the URLs of
    /// earlier scopes are answered 204 and recorded nowhere.
    /// </summary>
    public void BeginScope() => Volatile.Write(ref _scope, new Scope($"/scope-{Guid.NewGuid():N}"));

    private sealed class Scope(string prefix)
    {
        public string Prefix => prefix;
        public Func<HttpContext, Task> Respond { get; set; } = Answer204;
        public ConcurrentQueue<ReceivedDelivery> Received { get; } = new();
    }

    /// <summary>Starts the subscriber on a free loopback port.</summary>
    public static async Task<WebhookSubscriber> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var subscriber = new WebhookSubscriber(app);
        app.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
            var scope = Volatile.Read(ref subscriber._scope);
            if (!context.Request.Path.StartsWithSegments(scope.Prefix, out var path))
            {
                await Answer204(context); // for a test that has ended
                return;
            }
            // As UsePathBase would: the script sees the path within its scope.
            context.Request.PathBase = scope.Prefix;
            context.Request.Path = path;
            scope.Received.Enqueue(new ReceivedDelivery(path, body, headers, DateTimeOffset.UtcNow));
            await scope.Respond(context);
        });
        await app.StartAsync();
        return subscriber;
    }

    /// <summary>Waits until at least <paramref name="count"/> deliveries arrived at <paramref name="path"/> (any when null).</summary>
    public async Task<IReadOnlyList<ReceivedDelivery>> WaitForAsync(int count, double timeoutSeconds = 20, string? path = null)
    {
        IReadOnlyList<ReceivedDelivery> matching = [];
        await Eventually.ThatAsync(() =>
        {
            matching = [.. Received.Where(d => path is null || d.Path == path)];
            return Task.FromResult(matching.Count >= count);
        }, timeoutSeconds, $"{count} deliveries at {path ?? "any path"} (got {Received.Count})");
        return matching;
    }

    /// <summary>Waits until deliveries about each of <paramref name="requestIds"/> arrived; returns every delivery received.</summary>
    public async Task<IReadOnlyList<ReceivedDelivery>> WaitForRequestsAsync(IEnumerable<string> requestIds, double timeoutSeconds = 20)
    {
        var wanted = requestIds.ToHashSet();
        var missing = wanted.Count;
        await Eventually.ThatAsync(() =>
        {
            var seen = Received.Select(d => d.Json.GetProperty("request_id").GetString()).ToHashSet();
            missing = wanted.Count(id => !seen.Contains(id));
            return Task.FromResult(missing == 0);
        }, timeoutSeconds, $"deliveries about {wanted.Count} requests (still missing: {missing})");
        return Received;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
