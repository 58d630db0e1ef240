using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Reka.Gateway.Tests.Infrastructure;

/// <summary>
/// Swagger UI as a person uses it: the gateway's <c>/swagger</c> page in a real headless Chromium
/// (Debian's, driven by Microsoft.Playwright), the gateway in front of the simulator.
/// A missing Chromium fails the test (it is not skipped): run <c>scripts/install-prerequisites.sh --for-tests</c>.
/// Screenshots go to <c>screenshots/</c> in the test output (and the page's HTML too when the test fails).
/// </summary>
public sealed class SwaggerUiBrowserTests(ITestOutputHelper output)
{
    private const float WaitMs = 30_000;

    // Without the background-networking flags Chromium's own connections (updates, sync...) are
    // refused many at a time on a closed network.
    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    // The routes that matter, so that an empty or partial document cannot pass.
    private static readonly (string Method, string Path)[] RoutesThatMatter =
    [
        ("post", "/v2/inference/{model}/{capability}"),
        ("get", "/v2/inference/requests"),
        ("get", "/v2/inference/requests/{request_id}/status"),
        ("get", "/v2/inference/requests/{request_id}"),
        ("post", "/v2/inference/requests/{request_id}/cancel"),
        ("get", "/v2/inference/models"),
        ("post", "/v2/inference/chat/completions"),
        ("post", "/v1/images/upload"),
        ("post", "/v2/videos"),
        ("post", "/subscriptions"),
        ("get", "/subscriptions"),
        ("post", "/webhooks/inference"),
        ("get", "/events"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        // OpenAPI 3.1 webhooks: what the gateway POSTs to subscribers.
        ("post", "inference.completed"),
        ("post", "inference.failed"),
        ("post", "inference.cancelled"),
    ];

    private static readonly string[] HttpMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    private static string ScreenshotFolder => Path.Combine(AppContext.BaseDirectory, "screenshots");

    [Fact]
    public async Task SwaggerUi_ListsEveryRoute_AndTryItOutReturnsTheSimulatorsAnswer()
    {
        var chromium = FindChromium();
        await using var simulator = await SimulatorHost.StartAsync(new Dictionary<string, string?>
        {
            ["Simulator:ApiKey"] = TestClients.TeamKey,
            ["Simulator:QueueSeconds"] = "0.05",
            ["Simulator:RunSeconds"] = "0.05",
        });
        await using var gateway = await GatewayHost.StartAsync(simulator.BaseUrl);
        using var alice = gateway.CreateClient(TestClients.Alice);
        var requestId = await alice.SubmitAsync();
        var documented = await DocumentedOperationsAsync(gateway);
        var notDocumented = RoutesThatMatter.Where(route => !documented.Contains(route)).Select(Describe).ToList();
        Assert.True(notDocumented.Count == 0, $"/swagger/v1/swagger.json does not document: {string.Join(", ", notDocumented)}");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ChromiumArgs,
            Timeout = WaitMs,
        });
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1400, Height = 1000 },
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(WaitMs);
        page.SetDefaultNavigationTimeout(WaitMs);
        var pageErrors = new List<string>();
        page.PageError += (_, error) => pageErrors.Add(error);
        page.Console += (_, message) => output.WriteLine($"browser console {message.Type}: {message.Text}");
        page.RequestFailed += (_, request) => output.WriteLine($"browser request failed: {request.Method} {request.Url}: {request.Failure}");
        Directory.CreateDirectory(ScreenshotFolder);
        foreach (var stale in Directory.GetFiles(ScreenshotFolder, "swagger-ui*"))
        {
            File.Delete(stale);
        }

        try
        {
            // The page lists every operation of the gateway's own document.
            await page.GotoAsync(new Uri(gateway.BaseAddress, "/swagger").ToString());
            await page.Locator(".swagger-ui .opblock").First.WaitForAsync();
            var shown = await ShownOperationsAsync(page);
            var notShown = documented.Where(operation => !shown.Contains(operation)).Select(Describe).ToList();
            Assert.True(notShown.Count == 0, $"Swagger UI does not show: {string.Join(", ", notShown)}");

            // Authorize: Alice's key in the ApiKey scheme (X-Api-Key).
            await page.Locator(".scheme-container button.authorize").ClickAsync();
            var dialog = page.Locator(".dialog-ux .modal-ux");
            var apiKeyScheme = dialog.Locator(".auth-container").Filter(new LocatorFilterOptions
            {
                Has = page.Locator("h4 code", new PageLocatorOptions { HasTextRegex = new("^ApiKey$") }),
            });
            await apiKeyScheme.Locator("input").FillAsync(TestClients.Alice.Key);
            await apiKeyScheme.Locator("button.authorize").ClickAsync();
            await apiKeyScheme.GetByText("Authorized", new LocatorGetByTextOptions { Exact = true }).WaitForAsync();
            await apiKeyScheme.Locator("button.btn-done").ClickAsync();
            await dialog.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });

            // GET /v2/inference/requests: expand, Try it out, Execute, read the live response.
            var list = OperationBlock(page, "get", "/v2/inference/requests");
            await list.Locator(".opblock-summary-control").ClickAsync();
            await list.Locator("button.try-out__btn").ClickAsync();
            await list.Locator("button.execute").ClickAsync();
            var response = list.Locator(".responses-wrapper .live-responses-table tbody tr.response");
            await response.WaitForAsync();
            var status = (await response.Locator(".response-col_status").InnerTextAsync()).Trim();
            var body = await response.Locator(".response-col_description .highlight-code pre").InnerTextAsync();

            var screenshot = Path.Combine(ScreenshotFolder, "swagger-ui.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
            output.WriteLine($"Screenshot: {screenshot}");

            Assert.True(status == "200", $"Try it out answered {status}: {body}");
            Assert.Contains("\"items\"", body);
            Assert.Contains(requestId, body);
            Assert.True(new FileInfo(screenshot) is { Exists: true, Length: > 0 }, $"no screenshot at {screenshot}");
            Assert.True(pageErrors.Count == 0, $"errors on the page: {string.Join(" | ", pageErrors)}");
        }
        catch
        {
            await SaveForDiagnosisAsync(page);
            throw;
        }
    }

    /// <summary>The operation block Swagger UI renders for <paramref name="method"/> <paramref name="path"/>.</summary>
    private static ILocator OperationBlock(IPage page, string method, string path) =>
        page.Locator($".opblock.opblock-{method}").Filter(new LocatorFilterOptions
        {
            Has = page.Locator($".opblock-summary-path[data-path=\"{path}\"]"),
        });

    /// <summary>(method, path or webhook name) of every operation in the gateway's own OpenAPI document, its webhooks included.</summary>
    private static async Task<HashSet<(string Method, string Path)>> DocumentedOperationsAsync(GatewayHost gateway)
    {
        using var http = gateway.CreateClient();
        using var document = JsonDocument.Parse(await http.GetStringAsync("/swagger/v1/swagger.json"));
        var root = document.RootElement;
        return root.GetProperty("paths").EnumerateObject()
            .Concat(root.TryGetProperty("webhooks", out var webhooks) ? webhooks.EnumerateObject() : Enumerable.Empty<JsonProperty>())
            .SelectMany(path => path.Value.EnumerateObject()
                .Where(operation => HttpMethods.Contains(operation.Name))
                .Select(operation => (operation.Name, path.Name)))
            .ToHashSet();
    }

    /// <summary>(method, path) of every operation block on the page.</summary>
    private static async Task<HashSet<(string Method, string Path)>> ShownOperationsAsync(IPage page)
    {
        var pairs = await page.Locator(".swagger-ui .opblock .opblock-summary").EvaluateAllAsync<string[][]>("""
            summaries => summaries.map(summary => [
                (summary.querySelector('.opblock-summary-method')?.textContent ?? '').trim().toLowerCase(),
                summary.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? ''])
            """);
        return pairs.Select(pair => (pair[0], pair[1])).ToHashSet();
    }

    private static string Describe((string Method, string Path) operation) => $"{operation.Method.ToUpperInvariant()} {operation.Path}";

    /// <summary>Keeps the page's HTML and a screenshot of a failed run, without hiding its failure.</summary>
    private async Task SaveForDiagnosisAsync(IPage page)
    {
        try
        {
            var html = Path.Combine(ScreenshotFolder, "swagger-ui-failure.html");
            var png = Path.Combine(ScreenshotFolder, "swagger-ui-failure.png");
            await File.WriteAllTextAsync(html, await page.ContentAsync());
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = png, FullPage = true, Timeout = 10_000 });
            output.WriteLine($"Failed; the page is in {html} and {png}");
        }
        catch (Exception e) when (e is PlaywrightException or TimeoutException or IOException)
        {
            output.WriteLine($"Failed; could not save the page: {e.Message}");
        }
    }

    /// <summary>Debian's Chromium on the PATH (or /usr/bin); fails, never skips, when it is missing.</summary>
    private static string FindChromium()
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin")
            .Select(folder => Path.Combine(folder, "chromium"))
            .FirstOrDefault(File.Exists);
        Assert.True(found is not null,
            "Chromium is missing (no `chromium` on the PATH nor /usr/bin/chromium): run scripts/install-prerequisites.sh --for-tests, which installs Debian's chromium package.");
        return found;
    }
}
