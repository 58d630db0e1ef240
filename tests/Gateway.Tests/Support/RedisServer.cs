using System.Diagnostics;
using System.Net.Sockets;
using Reka.Gateway.Infrastructure.Redis;

namespace Reka.Gateway.Tests.Support;

/// <summary>
/// A real <c>redis-server</c> (Debian's package) on a free loopback port, in its own temporary
/// folder. Tests share one (<see cref="Shared"/>) and keep apart by key prefix; a test that stops
/// Redis starts its own. A missing <c>redis-server</c> fails the test with a clear message: it
/// is not skipped.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private static readonly Lazy<Task<RedisServer>> SharedServer = new(async () =>
    {
        var server = await StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Kill();
        return server;
    });

    private readonly string _directory;
    private readonly bool _appendOnly;
    private readonly IReadOnlyList<string> _arguments;
    private Process? _process;

    private RedisServer(int port, string directory, bool appendOnly, IReadOnlyList<string> arguments)
    {
        Port = port;
        _directory = directory;
        _appendOnly = appendOnly;
        _arguments = arguments;
    }

    /// <summary>The server tests share.</summary>
    public static Task<RedisServer> Shared => SharedServer.Value;

    /// <summary>Its working folder (<c>--dir</c>), where it writes its files.</summary>
    public string DataDirectory => _directory;

    /// <summary>Its port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>StackExchange.Redis configuration string for it.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>The gateway's store on this server, its keys under a prefix of its own (the caller disposes it).</summary>
    internal RedisStore NewStore() => TestStores.New(new RedisOptions { Configuration = Configuration, KeyPrefix = $"test-{Guid.NewGuid():N}:" });

    /// <summary>
    /// Starts a server; with <paramref name="appendOnly"/>, writes survive a restart (AOF, fsync
    /// every write). <paramref name="arguments"/> are added to the command line (<c>{port}</c> in
    /// them stands for its port); with <paramref name="tls"/>, the port is a TLS port and the plain
    /// one is off. <paramref name="port"/> picks the port (a free one otherwise).
    /// </summary>
    public static async Task<RedisServer> StartAsync(bool appendOnly = false, IEnumerable<string>? arguments = null, bool tls = false, int? port = null)
    {
        var directory = Directory.CreateTempSubdirectory("gateway-redis-").FullName;
        var chosen = port ?? FreePort.Next();
        var extra = new List<string>(tls ? ["--port", "0", "--tls-port", chosen.ToString()] : ["--port", chosen.ToString()]);
        extra.AddRange((arguments ?? []).Select(a => a.Replace("{port}", chosen.ToString())));
        var server = new RedisServer(chosen, directory, appendOnly, extra);
        await server.RestartAsync();
        return server;
    }

    /// <summary>Starts a replica of this server (<c>--replicaof</c>); returns once it is in sync.</summary>
    public async Task<RedisServer> StartReplicaAsync()
    {
        var replica = await StartAsync(arguments: ["--replicaof", "127.0.0.1", Port.ToString()]);
        try
        {
            await Eventually.ThatAsync(async () => (await replica.CliAsync("info", "replication")).Contains("master_link_status:up"), 20, "the replica to sync");
            return replica;
        }
        catch
        {
            await replica.DisposeAsync();
            throw;
        }
    }

    /// <summary>(Re)starts the process on the same port and folder.</summary>
    public async Task RestartAsync()
    {
        var arguments = new List<string>(_arguments) { "--bind", "127.0.0.1", "--dir", _directory, "--save", "" };
        arguments.AddRange(_appendOnly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]);
        _process = StartProcess("redis-server", arguments);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException($"redis-server did not listen on {Port}.");
    }

    /// <summary>Freezes the process (SIGSTOP): its connections stay open and it answers nothing, as a lagging replica.</summary>
    public void Pause() => Signal("STOP");

    /// <summary>Lets a paused process run again (SIGCONT).</summary>
    public void Resume() => Signal("CONT");

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process!.Id.ToString()]);
        kill.WaitForExit();
    }

    /// <summary>Runs <c>redis-cli</c> against this server (plain TCP) and returns what it printed.</summary>
    public Task<string> CliAsync(params string[] arguments) => Cli.RunAsync(["-h", "127.0.0.1", "-p", Port.ToString(), .. arguments]);

    /// <summary>Stops the process (SIGKILL: nothing is flushed beyond what AOF already wrote).</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Whether the process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts a server for <paramref name="arguments"/> of its own (<c>redis-sentinel</c>, say), on a free port.</summary>
    internal static Process StartProcess(string program, IEnumerable<string> arguments)
    {
        try
        {
            var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, UseShellExecute = false })!;
            process.OutputDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            return process;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{program} is not installed; run scripts/test.sh (it installs Debian's redis-server and redis-sentinel).", e);
        }
    }

    /// <summary>Kills the process if it runs (at exit of the test process, say).</summary>
    public void Kill()
    {
        try
        {
            _process?.Kill();
        }
        catch (InvalidOperationException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Runs <c>redis-cli</c>.</summary>
public static class Cli
{
    /// <summary>Runs <c>redis-cli</c> with <paramref name="arguments"/>; returns standard output.</summary>
    /// <exception cref="InvalidOperationException">It failed.</exception>
    public static async Task<string> RunAsync(IEnumerable<string> arguments)
    {
        using var process = Process.Start(new ProcessStartInfo("redis-cli", arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli {string.Join(' ', arguments)} failed: {await error}");
        }
        return await output;
    }
}
