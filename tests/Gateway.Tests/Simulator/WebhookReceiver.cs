using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Reka.Gateway.Tests.Simulator;

/// <summary>One call the receiver got.</summary>
public sealed record ReceivedWebhook(JsonElement Body, string? ContentType, DateTime ReceivedAt, int AnsweredStatus);

/// <summary>
/// A tiny real Kestrel host that records webhook calls. It answers the scripted statuses first,
/// in order, then 200.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Channel<ReceivedWebhook> _received;

    private WebhookReceiver(WebApplication app, Channel<ReceivedWebhook> received)
    {
        _app = app;
        _received = received;
        Url = $"{app.Urls.Single()}/hooks/inference?token=test";
    }

    /// <summary>The URL to pass as <c>webhook_url</c>.</summary>
    public string Url { get; }

    public static async Task<WebhookReceiver> StartAsync(params int[] scriptedStatuses)
    {
        var answers = new ConcurrentQueue<int>(scriptedStatuses);
        var received = Channel.CreateUnbounded<ReceivedWebhook>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/hooks/inference", async (HttpContext context) =>
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            var status = answers.TryDequeue(out var scripted) ? scripted : StatusCodes.Status200OK;
            await received.Writer.WriteAsync(new ReceivedWebhook(body.RootElement.Clone(), context.Request.ContentType, DateTime.UtcNow, status));
            context.Response.StatusCode = status;
        });
        await app.StartAsync();
        return new WebhookReceiver(app, received);
    }

    /// <summary>The next call, failing the test if none comes within <paramref name="timeoutSeconds"/>.</summary>
    public async Task<ReceivedWebhook> NextAsync(double timeoutSeconds = 10)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            return await _received.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"No webhook arrived within {timeoutSeconds} s.");
            throw;
        }
    }

    /// <summary>
    /// Fails the test if a call came that was not taken with <see cref="NextAsync"/>. Meant for
    /// after <see cref="SimulatorHost.WaitForWebhookDoneAsync"/>: every call the simulator made
    /// for the job has been answered, so recorded, by then.
    /// </summary>
    public void AssertNoMore() =>
        Assert.False(_received.Reader.TryRead(out var unexpected), $"Unexpected webhook: {unexpected?.Body}");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
