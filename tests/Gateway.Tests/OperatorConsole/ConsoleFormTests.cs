using System.Net;
using System.Text.Json;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.OperatorConsole;

/// <summary>
/// Console forms posted as a browser may post them, or by hand: a number or date that does not
/// parse, a field missing, a return URL with a control character. Each is a page that says what
/// was not done (never a 500), and nothing changes.
/// </summary>
public sealed class ConsoleFormTests : IAsyncLifetime
{
    private SimulatorHost _simulator = null!;
    private GatewayHost _gateway = null!;
    private HttpClient _ops = null!;
    private ConsoleHttp _console = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorHost.StartAsync(new Dictionary<string, string?> { ["Simulator:ApiKey"] = TestClients.TeamKey });
        _gateway = await GatewayHost.StartAsync(_simulator.BaseUrl);
        _ops = _gateway.CreateClient(TestClients.Ops);
        _console = new ConsoleHttp(_gateway);
        using var signedIn = await _console.SignInAsync(TestClients.Ops.Key);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
    }

    public async Task DisposeAsync()
    {
        _console.Dispose();
        _ops.Dispose();
        await _gateway.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    private async Task<string> RefusedAsync(string path, KeyValuePair<string, string>[] fields, string tokenFrom, HttpStatusCode status = HttpStatusCode.BadRequest)
    {
        using var posted = await _console.PostAsync(path, fields, tokenFrom);
        var html = await posted.Content.ReadAsStringAsync();
        Assert.True(posted.StatusCode == status, $"POST {path} answered {(int)posted.StatusCode}: {html[..Math.Min(html.Length, 300)]}");
        return WebUtility.HtmlDecode(html);
    }

    [Theory]
    [InlineData("1e3", "100", "maxInFlight")] // type=number takes exponents
    [InlineData("5", "3000000000", "dailySubmits")] // past int
    [InlineData("two", "", "maxInFlight")]
    public async Task AQuotaThatDoesNotParse_IsRefused_AndTheQuotasStayAsTheyWere(string maxInFlight, string dailySubmits, string named)
    {
        var name = "quota-" + Guid.NewGuid().ToString("N")[..8];
        using var created = await _ops.PostAsJsonAsync("/clients", new { name, quotas = new { max_in_flight = 2, daily_submits = 50 } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var before = await _ops.GetStringAsync($"/clients/{name}");

        var html = await RefusedAsync($"/console/clients/{name}?handler=Quotas", [new("maxInFlight", maxInFlight), new("dailySubmits", dailySubmits)], $"/console/clients/{name}");

        Assert.Contains("The quotas were not saved.", html);
        Assert.Contains(named, html);
        Assert.Equal(before, await _ops.GetStringAsync($"/clients/{name}"));
        var quotas = JsonDocument.Parse(before).RootElement.GetProperty("quotas");
        Assert.Equal((2, 50), (quotas.GetProperty("max_in_flight").GetInt32(), quotas.GetProperty("daily_submits").GetInt32()));
    }

    [Fact]
    public async Task AClientWhoseQuotaDoesNotParse_IsNotAdded()
    {
        var name = "added-" + Guid.NewGuid().ToString("N")[..8];

        var html = await RefusedAsync("/console/clients?handler=Create", [new("name", name), new("maxInFlight", "1e3")], "/console/clients");

        Assert.Contains("The client was not added.", html);
        using var read = await _ops.GetAsync($"/clients/{name}");
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Fact]
    public async Task AKeyWhoseExpiryDoesNotParse_IsNotIssued()
    {
        var name = "expiry-" + Guid.NewGuid().ToString("N")[..8];
        using var created = await _ops.PostAsJsonAsync("/clients", new { name });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var before = await _ops.GetStringAsync($"/clients/{name}");

        var html = await RefusedAsync($"/console/clients/{name}?handler=Issue", [new("expiresAt", "2027-13-45T00:00")], $"/console/clients/{name}");

        Assert.Contains("No key was issued.", html);
        Assert.DoesNotContain("gk_", html);
        Assert.Equal(before, await _ops.GetStringAsync($"/clients/{name}"));
    }

    [Theory]
    [InlineData("/console/subscriptions?handler=Enable", "The subscription was not enabled.")]
    [InlineData("/console/subscriptions?handler=Disable", "The subscription was not disabled.")]
    [InlineData("/console/subscriptions?handler=Delete", "The subscription was not deleted.")]
    [InlineData("/console/clients/alice?handler=Revoke", "The key was not revoked.")]
    public async Task AFormWithoutTheIdItActsOn_IsRefused(string path, string notDone)
    {
        var html = await RefusedAsync(path, [], path[..path.IndexOf('?')]);

        Assert.Contains(notDone, html);
        Assert.Contains("was not provided", html);
    }

    [Fact]
    public async Task AReplayWithoutItsDelivery_IsRefused_AndTheDeliveriesStayAsTheyWere()
    {
        using var created = await _ops.PostAsJsonAsync("/subscriptions", new { url = "http://127.0.0.1:9/hooks" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();

        var html = await RefusedAsync($"/console/subscriptions/{id}?handler=Replay", [], $"/console/subscriptions/{id}");

        Assert.Contains("The delivery was not replayed.", html);
        Assert.Equal("[]", await _ops.GetStringAsync($"/subscriptions/{id}/deliveries"));
    }

    [Theory]
    [InlineData("/console/a%09b")]
    [InlineData("/console/a%0D%0ALocation:%20http://evil.example/")]
    public async Task SigningInWithAReturnUrlHoldingAControlCharacter_GoesToTheRequestsPage(string returnUrl)
    {
        using var console = new ConsoleHttp(_gateway);

        using var signedIn = await console.PostAsync($"/console/sign-in?returnUrl={returnUrl}", [new("key", TestClients.Ops.Key)], "/console/sign-in");

        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal("/console/requests", signedIn.Headers.Location?.ToString());
        Assert.NotNull(console.Session);
    }
}
