using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Reka.Gateway.Tests.OperatorConsole;

/// <summary>
/// The console on a Redis with a replica: a subscription created while the replica is stopped is
/// saved on the primary unconfirmed, and the page says so (not "not created"), listing it.
/// </summary>
[Collection(ConsoleBrowserCollection.Name)]
public sealed class SubscriptionsPageReplicaTests(ITestOutputHelper output) : IAsyncLifetime
{
    private RedisServer _primary = null!;
    private RedisServer _replica = null!;
    private ConsoleBrowser _console = null!;

    public async Task InitializeAsync()
    {
        _primary = await RedisServer.StartAsync();
        _replica = await _primary.StartReplicaAsync();
        _console = await ConsoleBrowser.StartAsync(output,
            [new("Redis:Configuration", _primary.Configuration), new("Redis:ReplicaAckTimeoutSeconds", "0.2")]);
    }

    public async Task DisposeAsync()
    {
        await _console.DisposeAsync();
        await _replica.DisposeAsync();
        await _primary.DisposeAsync();
    }

    [Fact]
    public async Task ASubscriptionCreatedWhileTheReplicaIsStopped_Is503SayingItWasSaved_AndIsListed()
    {
        var page = await _console.NewPageAsync();
        try
        {
            await _console.SignInAsync(page, TestClients.Ops);
            await page.GotoAsync(_console.Url("/console/subscriptions"));
            var url = _console.Subscriber.Url("/unconfirmed");
            await page.GetByLabel("Subscriber URL", new() { Exact = true }).FillAsync(url);

            _replica.Pause();
            IResponse response;
            try
            {
                response = await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Create subscription" }).ClickAsync(),
                    r => r.Request.Method == "POST" && r.Url.Contains("/console/subscriptions", StringComparison.Ordinal));
            }
            finally
            {
                _replica.Resume();
            }

            Assert.Equal(503, response.Status);
            var alert = page.GetByRole(AriaRole.Alert);
            await Expect(alert).ToContainTextAsync("The change was saved, but may be lost in a failover");
            await Expect(alert).Not.ToContainTextAsync("not created");
            await Expect(page.Locator("tr[data-subscription-id]", new() { HasText = url })).ToHaveCountAsync(1);
            Assert.Empty(_console.PageErrors);
        }
        catch
        {
            await _console.SaveForDiagnosisAsync(page, "subscriptions-unconfirmed");
            throw;
        }
    }
}
