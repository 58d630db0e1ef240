using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;
using Reka.Gateway.Tests.Support;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Reka.Gateway.Tests.OperatorConsole;

/// <summary>Subscriptions and deliveries in a real browser: a failing subscriber, its dead letter, the replay.</summary>
[Collection(ConsoleBrowserCollection.Name)]
public sealed class SubscriptionsPageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private ConsoleBrowser _console = null!;

    public async Task InitializeAsync() => _console = await ConsoleBrowser.StartAsync(output);

    public async Task DisposeAsync() => await _console.DisposeAsync();

    [Fact]
    public async Task ASubscriberThatFails_ShowsItsAttemptsAndDeadLetter_AndAReplayAfterItRecovers_ShowsTheSuccessfulAttempt()
    {
        var failing = true;
        _console.Subscriber.Respond = async context =>
        {
            context.Response.StatusCode = failing ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
            await context.Response.WriteAsync(failing ? "maintenance until 10:00" : "thanks, stored");
        };
        using var alice = _console.Gateway.CreateClient(TestClients.Alice);
        var page = await _console.NewPageAsync();
        try
        {
            await _console.SignInAsync(page, TestClients.Ops);
            await page.GotoAsync(_console.Url("/console/subscriptions"));
            await page.GetByLabel("Subscriber URL", new() { Exact = true }).FillAsync(_console.Subscriber.Url("/reka"));
            await page.GetByLabel("Description", new() { Exact = true }).FillAsync("video team");
            await page.GetByLabel("COMPLETED").CheckAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Create subscription" }).ClickAsync();
            var secret = (await page.GetByTestId("subscription-secret").InnerTextAsync()).Trim();
            Assert.StartsWith("whsec_", secret);
            await _console.ScreenshotAsync(page, "subscriptions");

            var requestId = await alice.SubmitAsync();
            await _console.CompleteAsync(requestId);
            await page.GetByRole(AriaRole.Link, new() { Name = "Open its deliveries" }).ClickAsync();

            // Two retries after the first attempt, each answered 503: three attempts, then a dead letter.
            var delivery = page.Locator("[data-delivery-id]").First;
            await Expect(delivery.Locator("[data-delivery-status]")).ToHaveTextAsync("DEAD");
            await Expect(delivery.Locator("tr[data-attempt]")).ToHaveCountAsync(3);
            await Expect(delivery.Locator("[data-attempt-status]").Nth(2)).ToHaveTextAsync("503");
            await Expect(delivery.Locator("[data-attempt-answer]").First).ToHaveTextAsync("maintenance until 10:00");
            // The subscription's secret as the page showed it verifies the delivery, with the official libraries.
            await WebhookVerifier.VerifyAsync(_console.Subscriber.Received[0], secret);

            await page.GetByRole(AriaRole.Link, new() { Name = "Dead letters" }).ClickAsync();
            await Expect(page.Locator($"[data-delivery-id] [data-delivery-status]")).ToHaveTextAsync(["DEAD"]);
            await _console.ScreenshotAsync(page, "dead-letters");

            failing = false;
            await page.GetByRole(AriaRole.Button, new() { Name = "Replay delivery" }).ClickAsync();
            await Expect(page.GetByText("Delivery sent again")).ToBeVisibleAsync();
            await page.GetByRole(AriaRole.Link, new() { Name = "All deliveries" }).ClickAsync();
            delivery = page.Locator("[data-delivery-id]").First;
            await Expect(delivery.Locator("[data-delivery-status]")).ToHaveTextAsync("SUCCEEDED");
            await Expect(delivery.Locator("tr[data-attempt]")).ToHaveCountAsync(4);
            await Expect(delivery.Locator("[data-attempt-status]").Nth(3)).ToHaveTextAsync("200");
            await Expect(delivery.Locator("[data-attempt-answer]").Nth(3)).ToHaveTextAsync("thanks, stored");
            await _console.ScreenshotAsync(page, "subscription");
            Assert.Equal(4, _console.Subscriber.Received.Count);
            Assert.Empty(_console.PageErrors);
        }
        catch
        {
            await _console.SaveForDiagnosisAsync(page, "subscriptions");
            throw;
        }
    }

    [Fact]
    public async Task ASubscriptionDisabledOnThePage_IsDisabledForTheApi_AndEnabledAgain()
    {
        using var ops = _console.Gateway.CreateClient(TestClients.Ops);
        var (id, _) = await ops.SubscribeAsync(_console.Subscriber.Url("/toggle"));
        var page = await _console.NewPageAsync();
        try
        {
            await _console.SignInAsync(page, TestClients.Ops);
            await page.GotoAsync(_console.Url("/console/subscriptions"));
            var row = page.Locator($"tr[data-subscription-id=\"{id}\"]");

            await row.GetByRole(AriaRole.Button, new() { Name = $"Disable {id}" }).ClickAsync();

            await Expect(row).ToContainTextAsync("DISABLED");
            Assert.Contains("\"enabled\":false", await ops.GetStringAsync($"/subscriptions/{id}"));
            await row.GetByRole(AriaRole.Button, new() { Name = $"Enable {id}" }).ClickAsync();
            await Expect(row).ToContainTextAsync("ENABLED");
            Assert.Contains("\"enabled\":true", await ops.GetStringAsync($"/subscriptions/{id}"));

            page.Dialog += (_, dialog) => dialog.AcceptAsync();
            await row.GetByRole(AriaRole.Button, new() { Name = $"Delete {id}" }).ClickAsync();
            await Expect(page.GetByText("Subscription deleted.")).ToBeVisibleAsync();
            Assert.Equal(HttpStatusCode.NotFound, (await ops.GetAsync($"/subscriptions/{id}")).StatusCode);
            Assert.Empty(_console.PageErrors);
        }
        catch
        {
            await _console.SaveForDiagnosisAsync(page, "subscriptions-toggle");
            throw;
        }
    }
}
