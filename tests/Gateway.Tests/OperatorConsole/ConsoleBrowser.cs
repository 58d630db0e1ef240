using System.Net;
using System.Text.Json;
using Microsoft.Playwright;
using Reka.Gateway.Tests.Support;
using Xunit.Abstractions;

namespace Reka.Gateway.Tests.OperatorConsole;

/// <summary>
/// The console's browser tests run by themselves, not beside the other test classes: Chromium
/// takes much of a 2-core machine, and tests elsewhere time things.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleBrowserCollection
{
    public const string Name = "Console in a browser";
}

/// <summary>
/// What the console's browser tests share: a real gateway (in-process Kestrel) in front of a real
/// simulator whose jobs wait until the test completes them (so that a page is open and listening
/// before a request finishes), a webhook subscriber, the shared Redis, and Debian's Chromium
/// driven by Playwright as in the Swagger UI test. A missing Chromium fails (never skips).
/// Screenshots of each page go to <c>screenshots/</c> in the test output.
/// </summary>
public sealed class ConsoleBrowser : IAsyncDisposable
{
    public const float WaitMs = 30_000;

    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private readonly ITestOutputHelper _output;
    private readonly List<IBrowserContext> _contexts = [];

    private ConsoleBrowser(ITestOutputHelper output, SimulatorHost simulator, WebhookSubscriber subscriber, GatewayHost gateway, IPlaywright playwright, IBrowser browser)
    {
        (_output, Simulator, Subscriber, Gateway, Playwright, Browser) = (output, simulator, subscriber, gateway, playwright, browser);
    }

    public SimulatorHost Simulator { get; }

    public WebhookSubscriber Subscriber { get; }

    public GatewayHost Gateway { get; }

    public IPlaywright Playwright { get; }

    public IBrowser Browser { get; }

    /// <summary>Errors thrown by the pages' scripts; a test ends by asserting there are none.</summary>
    public List<string> PageErrors { get; } = [];

    public static string ScreenshotFolder => Path.Combine(AppContext.BaseDirectory, "screenshots");

    public static async Task<ConsoleBrowser> StartAsync(ITestOutputHelper output, IEnumerable<KeyValuePair<string, string?>>? settings = null)
    {
        var chromium = FindChromium();
        var simulator = await SimulatorHost.StartAsync(new Dictionary<string, string?>
        {
            ["Simulator:ApiKey"] = TestClients.TeamKey,
            ["Simulator:HoldJobs"] = "true",
        });
        var subscriber = await WebhookSubscriber.StartAsync();
        var gateway = await GatewayHost.StartAsync(simulator.BaseUrl,
        [
            // Two quick retries, then a dead letter.
            new("Delivery:RetrySchedule:0", "00:00:00.2"),
            new("Delivery:RetrySchedule:1", "00:00:00.2"),
            new("Delivery:JitterFraction", "0"),
            .. settings ?? [],
        ]);
        var playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ChromiumArgs,
            Timeout = WaitMs,
        });
        Directory.CreateDirectory(ScreenshotFolder);
        // Live updates and refreshing regions take a few seconds on a busy 2-core machine.
        Assertions.SetDefaultExpectTimeout(15_000);
        return new ConsoleBrowser(output, simulator, subscriber, gateway, playwright, browser);
    }

    /// <summary>A page in a browser context of its own (its own cookies), <paramref name="width"/> pixels wide.</summary>
    public async Task<IPage> NewPageAsync(int width = 1280, int height = 900)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        _contexts.Add(context);
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(WaitMs);
        page.SetDefaultNavigationTimeout(WaitMs);
        page.PageError += (_, error) => PageErrors.Add(error);
        page.Console += (_, message) =>
        {
            _output.WriteLine($"browser console {message.Type}: {message.Text}");
            // A Content-Security-Policy violation is reported on the console only.
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
            {
                PageErrors.Add(message.Text);
            }
        };
        return page;
    }

    /// <summary>The console's URL for <paramref name="path"/>.</summary>
    public string Url(string path) => new Uri(Gateway.BaseAddress, path).ToString();

    /// <summary>Signs in on the sign-in page with <paramref name="client"/>'s key, as a person would, and waits for the requests page.</summary>
    public async Task SignInAsync(IPage page, TestClient client)
    {
        await page.GotoAsync(Url("/console/sign-in"));
        await page.GetByLabel("Gateway key").FillAsync(client.Key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("signed-in-as")).ToHaveTextAsync(client.Name);
    }

    /// <summary>Saves a full-page screenshot as <c>screenshots/console-{name}.png</c>.</summary>
    public async Task<string> ScreenshotAsync(IPage page, string name)
    {
        var path = Path.Combine(ScreenshotFolder, $"console-{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        _output.WriteLine($"Screenshot: {path}");
        return path;
    }

    /// <summary>Ends a held job of the simulator, which then calls the gateway back.</summary>
    public async Task CompleteAsync(string requestId, string status = "COMPLETED")
    {
        using var response = await Simulator.PostJsonAsync($"/_simulator/requests/{requestId}/complete", JsonSerializer.Serialize(new { status }));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"complete answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Keeps the page's HTML and a screenshot of a failed test, without hiding its failure.</summary>
    public async Task SaveForDiagnosisAsync(IPage page, string name)
    {
        try
        {
            await File.WriteAllTextAsync(Path.Combine(ScreenshotFolder, $"console-{name}-failure.html"), await page.ContentAsync());
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, $"console-{name}-failure.png"), FullPage = true, Timeout = 10_000 });
            _output.WriteLine($"Failed; the page is in {ScreenshotFolder}/console-{name}-failure.*");
        }
        catch (Exception e) when (e is PlaywrightException or TimeoutException or IOException)
        {
            _output.WriteLine($"Failed; could not save the page: {e.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var context in _contexts)
        {
            await context.DisposeAsync();
        }
        await Browser.DisposeAsync();
        Playwright.Dispose();
        await Gateway.DisposeAsync();
        await Subscriber.DisposeAsync();
        await Simulator.DisposeAsync();
    }

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
