using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Reka.Simulator;

namespace Reka.Gateway.Tests.Support;

/// <summary>
/// A simulator on real Kestrel at 127.0.0.1 on a free port, with clients that talk to it over
/// loopback. Tests that change settings start their own; the others share a <see cref="SimulatorFixture"/>.
/// </summary>
public sealed class SimulatorHost : IAsyncDisposable
{
    public const string ApiKey = "sim-team-key";
    public const string SoraEndpoint = "sora-2-pro/image-to-video";

    private readonly WebApplication _app;

    private SimulatorHost(WebApplication app, Uri baseAddress, string apiKey)
    {
        _app = app;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress };
        Client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        Anonymous = new HttpClient { BaseAddress = baseAddress };
    }

    /// <summary>Where the simulator listens, e.g. http://127.0.0.1:41234.</summary>
    public Uri BaseAddress { get; }

    /// <summary>A client that sends the simulator's key (<c>Simulator:ApiKey</c>).</summary>
    public HttpClient Client { get; }

    /// <summary>A client that sends no key.</summary>
    public HttpClient Anonymous { get; }

    /// <summary>
    /// Starts a simulator with <c>Simulator:*</c> settings on top of its defaults, on
    /// <paramref name="clock"/> when given (its timers then wait for the test to move it on).
    /// </summary>
    public static async Task<SimulatorHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, TimeProvider? clock = null)
    {
        var app = SimulatorApp.Create([], builder =>
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
            if (clock is not null) builder.Services.AddSingleton(clock);
        });
        await app.StartAsync();
        var apiKey = settings?.GetValueOrDefault("Simulator:ApiKey") ?? ApiKey;
        return new SimulatorHost(app, new Uri(app.Urls.Single()), apiKey);
    }

    /// <summary>
    /// Starts a simulator for a test gateway to forward to: it takes <see cref="TestClients.TeamKey"/>
    /// and its jobs end within a few tens of milliseconds; <paramref name="settings"/> go on top.
    /// </summary>
    public static Task<SimulatorHost> StartForGatewayAsync(params (string Key, string? Value)[] settings)
    {
        var all = new Dictionary<string, string?>(UpstreamOfAGateway);
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }
        return StartAsync(all);
    }

    /// <summary>The settings of <see cref="StartForGatewayAsync"/>.</summary>
    public static IReadOnlyDictionary<string, string?> UpstreamOfAGateway { get; } = new Dictionary<string, string?>
    {
        ["Simulator:ApiKey"] = TestClients.TeamKey,
        ["Simulator:QueueSeconds"] = "0.02",
        ["Simulator:RunSeconds"] = "0.02",
    };

    /// <summary>Where it listens, without the trailing slash: a gateway's <c>Upstream:BaseUrl</c>.</summary>
    public string BaseUrl => BaseAddress.ToString().TrimEnd('/');

    /// <summary>Ends a held job through <c>POST /_simulator/requests/{id}/complete</c> (COMPLETED unless told otherwise).</summary>
    public async Task CompleteAsync(string requestId, string status = "COMPLETED")
    {
        using var response = await Anonymous.PostAsJsonAsync($"/_simulator/requests/{requestId}/complete", new { status });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>Submits a job and answers the 202 body.</summary>
    public async Task<JsonElement> SubmitAsync(
        string endpointId = SoraEndpoint, string prompt = "a cat surfing", string? webhookUrl = null, string? idempotencyKey = null)
    {
        using var response = await SendSubmitAsync(endpointId, prompt, webhookUrl, idempotencyKey);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return await ReadJsonAsync(response);
    }

    /// <summary>Submits a job and answers its request_id.</summary>
    public async Task<string> SubmitIdAsync(string endpointId = SoraEndpoint, string? webhookUrl = null) =>
        (await SubmitAsync(endpointId, webhookUrl: webhookUrl)).GetProperty("request_id").GetString()!;

    public Task<HttpResponseMessage> SendSubmitAsync(
        string endpointId = SoraEndpoint, string prompt = "a cat surfing", string? webhookUrl = null, string? idempotencyKey = null)
    {
        var body = new Dictionary<string, object> { ["input"] = new Dictionary<string, object> { ["prompt"] = prompt } };
        if (webhookUrl is not null) body["webhook_url"] = webhookUrl;
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/inference/{endpointId}") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        return Client.SendAsync(request);
    }

    /// <summary>GETs <paramref name="path"/> with the team key, expects 200 and answers the body.</summary>
    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadJsonAsync(response);
    }

    /// <summary>POSTs JSON to <paramref name="path"/> with the team key.</summary>
    public Task<HttpResponseMessage> PostJsonAsync(string path, string json) =>
        Client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    /// <summary>Changes run-time settings through <c>POST /_simulator/config</c>.</summary>
    public async Task ConfigureAsync(string json)
    {
        using var response = await PostJsonAsync("/_simulator/config", json);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>Polls the status route until the job has <paramref name="status"/>.</summary>
    public async Task<JsonElement> WaitForStatusAsync(string requestId, string status, double timeoutSeconds = 10)
    {
        JsonElement last = default;
        await Eventually.ThatAsync(async () =>
        {
            last = await GetJsonAsync($"/v2/inference/requests/{requestId}/status");
            return last.GetProperty("status").GetString() == status;
        }, timeoutSeconds, $"request {requestId} to become {status}");
        return last;
    }

    /// <summary>The job as <c>GET /_simulator/requests/{id}</c> shows it.</summary>
    public async Task<JsonElement> JobAsync(string requestId)
    {
        using var response = await Anonymous.GetAsync($"/_simulator/requests/{requestId}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadJsonAsync(response);
    }

    /// <summary>
    /// Waits until the job has ended and the simulator will send nothing more to its
    /// <c>webhook_url</c> (<c>webhook_done</c>): every call it made has been answered by then.
    /// </summary>
    public async Task<JsonElement> WaitForWebhookDoneAsync(string requestId, double timeoutSeconds = 10)
    {
        JsonElement job = default;
        await Eventually.ThatAsync(async () =>
        {
            job = await JobAsync(requestId);
            return job.GetProperty("webhook_done").GetBoolean();
        }, timeoutSeconds, $"the simulator to be done with the webhook of {requestId}");
        return job;
    }

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Anonymous.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A simulator shared by the tests of one class, with jobs that end within a few tens of milliseconds.</summary>
public class SimulatorFixture : IAsyncLifetime
{
    private SimulatorHost? _host;

    public SimulatorHost Host => _host ?? throw new InvalidOperationException("The fixture has not started.");

    /// <summary>Its settings.</summary>
    public virtual IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Simulator:QueueSeconds"] = "0.02",
        ["Simulator:RunSeconds"] = "0.02",
        ["Simulator:ChatChunkDelayMs"] = "0",
    };

    public async Task InitializeAsync() => _host = await SimulatorHost.StartAsync(Settings);

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }
}

/// <summary>A simulator shared by the tests of one class that holds every job in the queue until a test ends it.</summary>
public sealed class HeldJobsSimulatorFixture : SimulatorFixture
{
    public override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?> { ["Simulator:HoldJobs"] = "true" };
}

/// <summary>Polling for conditions that become true in the background.</summary>
public static class Eventually
{
    public static async Task ThatAsync(Func<Task<bool>> condition, double timeoutSeconds, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"Timed out after {timeoutSeconds} s waiting for {what}.");
            await Task.Delay(20);
        }
    }
}
