using System.Diagnostics;
using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;
using Reka.Gateway.ApiClient;
using Reka.Gateway.ApiClient.Models;
using Reka.Gateway.ApiClient.V2.Inference.Item.Item;

namespace Reka.Gateway.Tests.ApiClient;

/// <summary>
/// The C# client Kiota generates from <c>openapi/gateway.json</c> (<c>src/Gateway.ApiClient</c>)
/// against a real gateway: Kestrel on loopback, the shared redis-server, the simulator as Reka
/// (holding each job until the test completes it, so that a wait has something to wait for).
/// </summary>
public sealed class GeneratedClientTests : IAsyncLifetime
{
    private SimulatorHost _simulator = null!;
    private GatewayHost _gateway = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorHost.StartForGatewayAsync(("Simulator:HoldJobs", "true"));
        _gateway = await GatewayHost.StartAsync(_simulator.BaseUrl);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    // As an internal service would build it: Kiota's HttpClient (its middleware included) with the
    // service's gateway key on every call. Kiota's ApiKeyAuthenticationProvider sends keys over https only.
    private GatewayApiClient Client(TestClient? caller)
    {
        var http = KiotaClientFactory.Create();
        if (caller is not null)
        {
            http.DefaultRequestHeaders.Add("X-Api-Key", caller.Key);
        }
        return new GatewayApiClient(new HttpClientRequestAdapter(new AnonymousAuthenticationProvider(), httpClient: http)
        {
            BaseUrl = _gateway.BaseAddress.ToString().TrimEnd('/'),
        });
    }

    [Fact]
    public async Task GeneratedClient_Submits_WaitsForTheResult_AndListsRequests()
    {
        var client = Client(TestClients.Alice);

        var accepted = await client.V2.Inference["sora-2-pro"]["image-to-video"].PostAsync(new WithCapabilityPostRequestBody
        {
            Input = new WithCapabilityPostRequestBody_input { AdditionalData = { ["prompt"] = "a red fox in snow" } },
        });
        var requestId = accepted!.RequestId!;
        Assert.Equal("IN_QUEUE", accepted.Status);
        Assert.StartsWith(_gateway.BaseAddress.ToString().TrimEnd('/') + "/", accepted.ResponseUrl);

        // wait=1 on a held job: the gateway holds the call for its second and answers the current state.
        var timer = Stopwatch.StartNew();
        var pending = await client.V2.Inference.Requests[requestId].GetAsync(request => request.QueryParameters.Wait = 1);
        Assert.True(timer.Elapsed >= TimeSpan.FromSeconds(0.9), $"wait=1 answered after {timer.Elapsed.TotalSeconds:0.00} s: the client did not send it");
        Assert.Equal("IN_QUEUE", pending!.Status);

        // wait=50: answered once Reka's callback has reached the gateway.
        timer.Restart();
        var waiting = client.V2.Inference.Requests[requestId].GetAsync(request => request.QueryParameters.Wait = 50);
        await _simulator.CompleteAsync(requestId);
        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(55));
        Assert.True(timer.Elapsed < TimeSpan.FromSeconds(30), "released by the callback, not the deadline");
        Assert.Equal("COMPLETED", result!.Status);
        Assert.Equal(requestId, result.RequestId);
        Assert.False(string.IsNullOrEmpty(result.Output?.VideoUrl), "a completed video request has a video_url");

        var list = await client.V2.Inference.Requests.GetAsync(request => request.QueryParameters.Limit = 100);
        var listed = Assert.Single(list!.Items!, item => item.RequestId == requestId);
        Assert.Equal("COMPLETED", listed.Status);
    }

    [Fact]
    public async Task GeneratedClient_WithoutAKey_ThrowsTheDocumentedProblemDetails()
    {
        var client = Client(caller: null);

        var problem = await Assert.ThrowsAsync<ProblemDetails>(() => client.V2.Inference.Requests.GetAsync());

        Assert.Equal(401, problem.ResponseStatusCode);
        Assert.Equal(401, problem.Status);
        Assert.False(string.IsNullOrEmpty(problem.Detail));
    }

    [Fact]
    public async Task GeneratedClient_BadQuery_ThrowsValidationProblemDetailsNamingTheField()
    {
        var client = Client(TestClients.Alice);

        var problem = await Assert.ThrowsAsync<HttpValidationProblemDetails>(() =>
            client.V2.Inference.Requests.GetAsync(request => request.QueryParameters.Limit = 1000));

        Assert.Equal(400, problem.ResponseStatusCode);
        Assert.Contains("limit", problem.Errors!.AdditionalData.Keys);
    }
}
