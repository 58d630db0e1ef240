using System.Diagnostics;
using System.Net.Sockets;

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
    private Process? _process;

    private RedisServer(int port, string directory, bool appendOnly)
    {
        Port = port;
        _directory = directory;
        _appendOnly = appendOnly;
    }

    /// <summary>The server tests share.</summary>
    public static Task<RedisServer> Shared => SharedServer.Value;

    /// <summary>Its port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>StackExchange.Redis configuration string for it.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Starts a server; with <paramref name="appendOnly"/>, writes survive a restart (AOF, fsync every write).</summary>
    public static async Task<RedisServer> StartAsync(bool appendOnly = false)
    {
        var directory = Directory.CreateTempSubdirectory("gateway-redis-").FullName;
        var server = new RedisServer(FreePort.Next(), directory, appendOnly);
        await server.RestartAsync();
        return server;
    }

    /// <summary>(Re)starts the process on the same port and folder.</summary>
    public async Task RestartAsync()
    {
        var arguments = new List<string> { "--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", _directory, "--save", "" };
        arguments.AddRange(_appendOnly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]);
        try
        {
            _process = Process.Start(new ProcessStartInfo("redis-server", arguments) { RedirectStandardOutput = true, UseShellExecute = false })!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("redis-server is not installed; run scripts/test.sh (it installs Debian's redis-server).", e);
        }
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
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

    /// <summary>Stops the process (SIGKILL: nothing is flushed beyond what AOF already wrote).</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    private void Kill()
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
