using Microsoft.Playwright;
using Reka.Gateway.Tests.Support;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Reka.Gateway.Tests.OperatorConsole;

/// <summary>The requests pages in a real browser: live statuses, the result's video, ownership.</summary>
[Collection(ConsoleBrowserCollection.Name)]
public sealed class RequestsPageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private ConsoleBrowser _console = null!;

    public async Task InitializeAsync() => _console = await ConsoleBrowser.StartAsync(output);

    public async Task DisposeAsync() => await _console.DisposeAsync();

    [Fact]
    public async Task ARequestSubmittedThroughTheApi_TurnsCompletedOnTheOpenPage_WithoutAReload_AndItsPageShowsTheVideo()
    {
        using var ops = _console.Gateway.CreateClient(TestClients.Ops);
        var page = await _console.NewPageAsync();
        try
        {
            await _console.SignInAsync(page, TestClients.Ops);
            var requestId = await ops.SubmitAsync();
            await page.GotoAsync(_console.Url("/console/requests"));
            var row = page.Locator($"tr[data-request-id=\"{requestId}\"]");
            await Expect(row.Locator("[data-status]")).ToHaveTextAsync("IN_QUEUE");
            await Expect(page.Locator("body")).ToHaveAttributeAsync("data-live-connection", "connected");
            // A mark on this document: after a reload it would be gone.
            await page.EvaluateAsync("() => { window.__sameDocument = true; }");

            await _console.CompleteAsync(requestId);

            await Expect(row.Locator("[data-status]")).ToHaveTextAsync("COMPLETED");
            Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the page was reloaded");
            await _console.ScreenshotAsync(page, "requests");

            await row.GetByRole(AriaRole.Link, new() { Name = requestId }).ClickAsync();
            await Expect(page).ToHaveURLAsync(_console.Url($"/console/requests/{requestId}"));
            var video = page.GetByTestId("result-video");
            await Expect(video).ToHaveAttributeAsync("src", $"https://cdn.simulator.invalid/{requestId}.mp4");
            await Expect(page.Locator("h1 [data-status]")).ToHaveTextAsync("COMPLETED");
            await Expect(page.GetByText("Request completed.")).ToBeVisibleAsync();
            await _console.ScreenshotAsync(page, "request");
            Assert.Empty(_console.PageErrors);
        }
        catch
        {
            await _console.SaveForDiagnosisAsync(page, "requests");
            throw;
        }
    }
}
