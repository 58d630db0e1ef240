using System.Diagnostics;
using static Reka.Gateway.Tests.Deploy.DeployFiles;

namespace Reka.Gateway.Tests.Deploy;

/// <summary>
/// The Dockerfile (no Docker engine runs here): its structure, its HEALTHCHECK run with bash
/// against a live gateway, and its gateway publish command run for real, the output started.
/// </summary>
public sealed class DockerfileTests
{
    private const string PublishCommandStart = "dotnet publish src/Gateway/Gateway.csproj ";

    [Fact]
    public void Dockerfile_BuildsWithTheSdk_AndEndsOnANonRootAspnetGatewayStage()
    {
        var stages = DockerStages();
        var build = stages[0];
        Assert.Equal(("mcr.microsoft.com/dotnet/sdk:10.0", "build"), (build.Image, build.Name));
        var runs = build.All("RUN").ToList();
        // Every package comes from the package source: no local package folder is made first.
        Assert.DoesNotContain(runs, run => run.Contains("local-packages", StringComparison.Ordinal));
        var restore = runs.FindIndex(run => run.StartsWith("dotnet restore src/Gateway/Gateway.csproj", StringComparison.Ordinal));
        var publishGateway = runs.FindIndex(run => run.StartsWith(PublishCommandStart, StringComparison.Ordinal));
        var publishSimulator = runs.FindIndex(run => run.StartsWith("dotnet publish src/Reka.Simulator/Reka.Simulator.csproj -c Release -o /app/simulator", StringComparison.Ordinal));
        Assert.True(restore >= 0 && restore < publishGateway && restore < publishSimulator,
            "the restore from the project files alone must come before the publish commands");

        // The last stage is the default target: the gateway.
        var gateway = stages[^1];
        Assert.Equal(("mcr.microsoft.com/dotnet/aspnet:10.0", "gateway"), (gateway.Image, gateway.Name));
        Assert.Equal("/app", Assert.Single(gateway.All("WORKDIR")));
        Assert.Contains("--from=build /app/gateway .", gateway.All("COPY"));
        var user = Assert.Single(gateway.All("USER"));
        Assert.True(user == "$APP_UID" || (user != "root" && !user.StartsWith('0')), $"USER {user} is root");
        Assert.Equal("8080", Assert.Single(gateway.All("EXPOSE")));
        Assert.Equal("8080", gateway.Env("ASPNETCORE_HTTP_PORTS"));
        Assert.Contains("/healthz", Assert.Single(gateway.All("HEALTHCHECK")));
        Assert.Equal(["dotnet", "Gateway.dll"], JsonSerializer.Deserialize<string[]>(Assert.Single(gateway.All("ENTRYPOINT")))!);

        var simulator = Assert.Single(stages, s => s.Name == "simulator");
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", simulator.Image);
        Assert.Contains("--from=build /app/simulator .", simulator.All("COPY"));
        Assert.Equal("$APP_UID", Assert.Single(simulator.All("USER")));
        Assert.Equal("8081", Assert.Single(simulator.All("EXPOSE")));
        var entrypoint = JsonSerializer.Deserialize<string[]>(Assert.Single(simulator.All("ENTRYPOINT")))!;
        Assert.Equal(["dotnet", "Reka.Simulator.dll", "--urls", "http://+:8081"], entrypoint);
    }

    [Fact]
    public void Dockerignore_KeepsBuildOutputsAndLocalStateOutOfTheContext_ButNotTheSources()
    {
        var patterns = File.ReadAllLines(Path.Combine(Root, ".dockerignore"))
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line.TrimEnd('/'))
            .ToList();
        foreach (var name in new[] { "bin", "obj", "node_modules", ".run", ".git", "TestResults" })
        {
            Assert.True(patterns.Contains(name) || patterns.Contains("**/" + name), $".dockerignore does not exclude {name}");
        }
        // What the build stage copies by name must stay in the context.
        var copied = DockerStages()[0].All("COPY")
            .SelectMany(arguments => arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1])
            .Where(source => !source.StartsWith("--", StringComparison.Ordinal) && source != ".")
            .ToList();
        Assert.Contains("Directory.Packages.props", copied);
        foreach (var source in copied.Append("src").Append("scripts"))
        {
            Assert.True(File.Exists(Path.Combine(Root, source)) || Directory.Exists(Path.Combine(Root, source)), $"COPY {source}: no such file");
            Assert.DoesNotContain(patterns, pattern => pattern == source || source.StartsWith(pattern + "/", StringComparison.Ordinal)
                || pattern == "**/" + Path.GetFileName(source));
        }
    }

    [Fact]
    public async Task Healthcheck_PassesAgainstALiveGateway_AndFailsWhenNothingAnswers()
    {
        var command = HealthcheckCommand();
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl);

        var (live, liveOutput) = await RunAsync(command, gateway.BaseAddress.Port);
        var (dead, deadOutput) = await RunAsync(command, FreePort.Next());

        Assert.True(live == 0, $"HEALTHCHECK failed against a live gateway ({live}): {liveOutput}");
        Assert.True(dead != 0, $"HEALTHCHECK passed with nothing listening: {deadOutput}");

        static Task<(int ExitCode, string Output)> RunAsync(string[] command, int port)
        {
            var start = new ProcessStartInfo(command[0], command[1..]);
            start.Environment["ASPNETCORE_HTTP_PORTS"] = port.ToString();
            return DockerfileTests.RunAsync(start, TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public async Task PublishCommandOfTheDockerfile_MakesAGateway_ThatStartsFromAnyFolder_AndForwardsWithTheTeamKey()
    {
        var publish = Assert.Single(DockerStages()[0].All("RUN"), run => run.StartsWith(PublishCommandStart, StringComparison.Ordinal));
        var arguments = publish.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        Assert.DoesNotContain(arguments, a => a is "&&" or ";" or "|");
        var output = arguments.IndexOf("-o") + 1;
        Assert.Equal("/app/gateway", arguments[output]);
        var folder = Directory.CreateTempSubdirectory("gateway-publish-").FullName;
        var elsewhere = Directory.CreateTempSubdirectory("gateway-cwd-").FullName;
        try
        {
            arguments[output] = folder;
            await RunFromRootAsync(arguments);

            Assert.True(File.Exists(Path.Combine(folder, "Gateway.dll")), "no Gateway.dll in the published output");
            Assert.Equal(File.ReadAllText(Path.Combine(Root, "appsettings.json")), File.ReadAllText(Path.Combine(folder, "appsettings.json")));

            await using var upstream = await RecordingUpstream.StartAsync();
            var settings = await GatewayHost.DefaultSettingsAsync(upstream.BaseUrl);
            await using var gateway = GatewayProcess.Start(settings, assembly: Path.Combine(folder, "Gateway.dll"), workingDirectory: elsewhere);
            await gateway.WaitUntilLiveAsync(TimeSpan.FromSeconds(30));
            using var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
            using var models = new HttpRequestMessage(HttpMethod.Get, "/v2/inference/models");
            models.Headers.Add("X-Api-Key", TestClients.Alice.Key);
            using var response = await http.SendAsync(models);

            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()} {gateway.StandardError}");
            var forwarded = Assert.Single(upstream.Requests);
            Assert.Equal(("GET", "/v2/inference/models"), (forwarded.Method, forwarded.PathAndQuery));
            Assert.Equal(TestClients.TeamKey, forwarded.Headers["X-Api-Key"]);
            Assert.DoesNotContain(TestClients.Alice.Key, string.Join(' ', forwarded.Headers.Values));
            // "Microsoft.Hosting.Lifetime": "Information" comes from the published appsettings.json
            // (the settings above make every other category Warning): it was found from elsewhere.
            await Eventually.ThatAsync(() => Task.FromResult(gateway.StandardOutput.Contains("\"Category\":\"Microsoft.Hosting.Lifetime\"")), 10,
                "the lifetime's Information logs, which appsettings.json turns on");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    /// <summary>The HEALTHCHECK's command, from its exec form (<c>CMD ["bash", "-c", "..."]</c>).</summary>
    private static string[] HealthcheckCommand()
    {
        var healthcheck = Assert.Single(DockerStages()[^1].All("HEALTHCHECK"));
        var cmd = healthcheck.IndexOf("CMD [", StringComparison.Ordinal);
        Assert.True(cmd >= 0, $"HEALTHCHECK is not in exec form: {healthcheck}");
        var command = JsonSerializer.Deserialize<string[]>(healthcheck[(cmd + 4)..])!;
        Assert.Equal("bash", command[0]);
        Assert.Contains("/healthz", command[^1]);
        return command;
    }

    /// <summary>Runs <c>arguments</c> (a <c>dotnet</c> command) from the repository's top folder; fails on a non-zero exit.</summary>
    private static async Task RunFromRootAsync(IReadOnlyList<string> arguments)
    {
        Assert.Equal("dotnet", arguments[0]);
        var start = new ProcessStartInfo("dotnet", arguments.Skip(1)) { WorkingDirectory = Root };
        // The test host's MSBuild variables would steer the inner build; it runs as from a shell.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }
        // No build server or worker node outlives the command (nor holds its output open); set
        // through the environment so that the command line stays the Dockerfile's.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["UseSharedCompilation"] = "false";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var (exitCode, output) = await RunAsync(start, TimeSpan.FromMinutes(8));
        Assert.True(exitCode == 0, $"`{string.Join(' ', arguments)}` exited {exitCode}: {output}");
    }

    /// <summary>Runs a process to its end (killed past <paramref name="timeout"/>); its exit code and output.</summary>
    private static async Task<(int ExitCode, string Output)> RunAsync(ProcessStartInfo start, TimeSpan timeout)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"`{start.FileName} {string.Join(' ', start.ArgumentList)}` ran past {timeout}");
        }
        // A grandchild that inherited the pipes could keep them open past the exit.
        await Task.WhenAny(Task.WhenAll(output, errors), Task.Delay(TimeSpan.FromSeconds(5)));
        return (process.ExitCode, (output.IsCompletedSuccessfully ? output.Result : "") + (errors.IsCompletedSuccessfully ? errors.Result : ""));
    }
}
