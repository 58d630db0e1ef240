using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Reka.Gateway.Tests.Support;

/// <summary>What the upstream received.</summary>
public sealed record RecordedRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, byte[] Body, long BodyLength)
{
    /// <summary>The path and query of the gateway's callback URL in a submit's body (its <c>webhook_url</c>).</summary>
    public string CallbackPath => new Uri(System.Text.Json.JsonDocument.Parse(Body).RootElement.GetProperty("webhook_url").GetString()!).PathAndQuery;
}

/// <summary>
/// A real Kestrel host on loopback standing in for Reka: it records every request it gets and
/// answers as the test scripts it (by default 200 <c>{"ok":true}</c>).
/// </summary>
public sealed class RecordingUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();

    private RecordingUpstream(WebApplication app) => _app = app;

    private static readonly Func<HttpContext, Task> AnswerOk = context => context.Response.WriteAsJsonAsync(new { ok = true });

    /// <summary>Answers each request; the body has already been read and recorded (and can be read again when it was kept whole).</summary>
    public Func<HttpContext, Task> Respond { get; set; } = AnswerOk;

    /// <summary>Answers every request as Reka accepts a submit: 202 naming <paramref name="requestId"/>, <c>IN_QUEUE</c>.</summary>
    public void AcceptSubmitsAs(string requestId) => Respond = context =>
    {
        context.Response.StatusCode = 202;
        return context.Response.WriteAsJsonAsync(new { request_id = requestId, status = "IN_QUEUE" });
    };

    /// <summary>Largest body kept in <see cref="RecordedRequest.Body"/>, in bytes; longer ones are only counted.</summary>
    public int MaxRecordedBodyBytes { get; set; } = 1 << 20;

    /// <summary>Forgets the requests received and goes back to answering 200 <c>{"ok":true}</c>: a new test starts.</summary>
    public void Reset()
    {
        _requests.Clear();
        Respond = AnswerOk;
        MaxRecordedBodyBytes = 1 << 20;
    }

    /// <summary>Requests received so far, in order.</summary>
    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>The host's base URL.</summary>
    public string BaseUrl => _app.Urls.First();

    /// <summary>Starts the host on a free loopback port.</summary>
    public static async Task<RecordingUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => { k.Listen(IPAddress.Loopback, 0); k.Limits.MaxRequestBodySize = null; });
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var upstream = new RecordingUpstream(app);
        app.Run(upstream.HandleAsync);
        await app.StartAsync();
        return upstream;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var kept = new MemoryStream();
        var buffer = new byte[81920];
        long length = 0;
        int read;
        while ((read = await request.Body.ReadAsync(buffer)) > 0)
        {
            if (kept.Length + read <= MaxRecordedBodyBytes)
            {
                kept.Write(buffer, 0, read);
            }
            length += read;
        }
        var headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var body = kept.ToArray();
        _requests.Enqueue(new RecordedRequest(request.Method, request.Path + request.QueryString, headers, body, length));
        if (body.Length == length)
        {
            request.Body = new MemoryStream(body);
        }
        await Respond(context);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
