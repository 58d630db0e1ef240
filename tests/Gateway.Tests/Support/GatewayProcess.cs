using System.Diagnostics;

namespace Reka.Gateway.Tests.Support;

/// <summary>
/// The gateway as a separate OS process (<c>dotnet Gateway.dll</c> from the test's output), for
/// what an in-process host cannot show: exit codes, SIGKILL and SIGTERM.
/// </summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private GatewayProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (_stdout) { _stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (_stderr) { _stderr.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The address it listens on.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Its process id.</summary>
    public int Id => _process.Id;

    /// <summary>Whether it has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>What it wrote to standard output so far.</summary>
    public string StandardOutput { get { lock (_stdout) { return _stdout.ToString(); } } }

    /// <summary>What it wrote to standard error so far.</summary>
    public string StandardError { get { lock (_stderr) { return _stderr.ToString(); } } }

    /// <summary>
    /// Starts the gateway with <paramref name="settings"/> as environment variables
    /// (<c>Section:Key</c> becomes <c>Section__Key</c>), nothing inherited that could configure it.
    /// <paramref name="assembly"/> is the <c>Gateway.dll</c> to run (the test's own when null), from
    /// <paramref name="workingDirectory"/> (the temporary folder when null).
    /// </summary>
    public static GatewayProcess Start(IEnumerable<KeyValuePair<string, string?>> settings, int? port = null,
        string? assembly = null, string? workingDirectory = null)
    {
        var listenPort = port ?? FreePort.Next();
        var start = new ProcessStartInfo("dotnet", [assembly ?? Path.Combine(AppContext.BaseDirectory, "Gateway.dll"), "--urls", $"http://127.0.0.1:{listenPort}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_") || k.StartsWith("DOTNET_ENVIRONMENT") || k == "REKA_API_KEY").ToList())
        {
            start.Environment.Remove(name);
        }
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__")] = value;
        }
        return new GatewayProcess(Process.Start(start)!, new Uri($"http://127.0.0.1:{listenPort}"));
    }

    /// <summary>
    /// Starts the gateway on a free port with <paramref name="settings"/>, handing Reka its own
    /// address for callbacks (<c>Gateway:PublicBaseUrl</c>), as a replica with no load balancer in front.
    /// </summary>
    public static GatewayProcess StartAtItsOwnAddress(IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var port = FreePort.Next();
        return Start(new Dictionary<string, string?>(settings) { ["Gateway:PublicBaseUrl"] = $"http://127.0.0.1:{port}" }, port);
    }

    /// <summary>An HTTP client for it that sends <paramref name="client"/>'s key (none when null).</summary>
    public HttpClient CreateClient(TestClient? client = null)
    {
        var http = new HttpClient { BaseAddress = BaseAddress };
        if (client is not null)
        {
            http.DefaultRequestHeaders.Add("X-Api-Key", client.Key);
        }
        return http;
    }

    /// <summary>Waits until <c>/healthz</c> answers.</summary>
    /// <exception cref="TimeoutException">It did not within <paramref name="timeout"/>, or exited.</exception>
    public async Task WaitUntilLiveAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        using var deadline = new CancellationTokenSource(timeout);
        while (!deadline.IsCancellationRequested && !_process.HasExited)
        {
            try
            {
                // A process starting on a busy machine may take seconds to answer its first call:
                // only the deadline decides that it did not come up.
                using var answer = await http.GetAsync("/healthz", deadline.Token);
                if (answer.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                break;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"The gateway at {BaseAddress} did not come up. stderr: {StandardError} stdout: {StandardOutput}");
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    /// <summary>Sends a POSIX signal (e.g. SIGTERM = 15, SIGKILL = 9).</summary>
    public void Signal(int signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString()]);
        kill.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
