using System.Text.RegularExpressions;

namespace Reka.Gateway.Tests.Infrastructure;

public sealed class StartupTests
{
    [Fact]
    public async Task MissingTeamKey_StopsStartUpWithOneClearLine()
    {
        await using var gateway = GatewayProcess.Start([new("Upstream:BaseUrl", "http://127.0.0.1:9")]);

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        var line = Assert.Single(gateway.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("REKA_API_KEY", line);
        Assert.DoesNotContain("   at ", gateway.StandardError + gateway.StandardOutput);
    }

    [Fact]
    public async Task EveryBadSetting_IsNamedOnTheSameLine()
    {
        await using var gateway = GatewayProcess.Start([new("Upstream:BaseUrl", "not a url"), new("Upstream:ApiKey", "k"), new("Cache:ResultTtl", "00:00:00")]);

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        var line = Assert.Single(gateway.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Upstream:BaseUrl", line);
        Assert.Contains("Webhooks:CallbackSecret", line);
        // Named once, by the Cache section's own check: the Webhooks rule that reads it stands aside.
        Assert.Single(Regex.Matches(line, "Cache:ResultTtl"));
    }

    [Theory]
    [InlineData("RateLimiting:Default:WindowSeconds", "0", "RateLimiting:Default")]
    [InlineData("Delivery:JitterFraction", "2", "Delivery:JitterFraction")]
    [InlineData("Delivery:Worker:MaxConcurrency", "0", "Delivery:Worker")]
    [InlineData("Delivery:Retention", "01:00:00", "Delivery:Retention")]
    [InlineData("Delivery:MaxRetryAfterSeconds", "100000", "Delivery:MaxRetryAfterSeconds")] // 7 retries of 27.8 h outlast the 7 days events are kept
    [InlineData("Webhooks:Processing:LeaseSeconds", "0", "Webhooks:Processing")]
    [InlineData("Proxy:ForwardedPrefixes:0", "/v2/inference/", "Proxy:ForwardedPrefixes")]
    [InlineData("Proxy:Routes:chat:TimeoutSeconds", "-1", "Proxy:Routes:chat")]
    [InlineData("Cache:ResultTtl", "00:00:00", "Cache:ResultTtl")]
    // With the defaults, Reka may still be asked about a request 44.9 h after its submit (an hour's slack on top).
    [InlineData("Cache:ResultTtl", "1.00:00:00", "Cache:ResultTtl (1.00:00:00) must be longer than the gateway's latest look at a request, 45 h 53 min after its submit")]
    [InlineData("Redis:OperationTimeoutSeconds", "0", "Redis")]
    [InlineData("Webhooks:AllowedSubscriberHosts:0", "hooks.example:65536", "Webhooks:AllowedSubscriberHosts entry 'hooks.example:65536'")]
    [InlineData("Redis:KeyPrefix", "gateway{1}:", "Redis:KeyPrefix")]
    [InlineData("Redis:QueuePartitions", "0", "Redis:QueuePartitions")]
    [InlineData("Redis:ReplicaAckTimeoutSeconds", "5", "Redis:ReplicaAckTimeoutSeconds")]
    public async Task InvalidSetting_StopsStartUp_NamingIt(string key, string value, string named)
    {
        var settings = await GatewayHost.DefaultSettingsAsync("http://127.0.0.1:9");
        settings[key] = value;
        await using var gateway = GatewayProcess.Start(settings);

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains(named, Assert.Single(gateway.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task RequiredReplica_WithConfirmationsOff_StopsStartUp_NamingBoth()
    {
        var settings = await GatewayHost.DefaultSettingsAsync("http://127.0.0.1:9");
        settings["Redis:RequireReplica"] = "true";
        settings["Redis:ReplicaAckTimeoutSeconds"] = "0";
        await using var gateway = GatewayProcess.Start(settings);

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        var line = Assert.Single(gateway.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Redis:RequireReplica needs Redis:ReplicaAckTimeoutSeconds above 0", line);
    }

    [Theory]
    [InlineData("127.0.0.1:6379,password=hunter2-not-logged,sslx=true", null, "Redis")]
    [InlineData("127.0.0.1:6379,ssl=maybe,password=hunter2-not-logged", null, "Redis")]
    [InlineData("127.0.0.1:6379,ssl=true,user=gateway,password=hunter2-not-logged", "/nonexistent/ca.pem", "Redis:CaCertificatePath")]
    [InlineData("127.0.0.1:6379,user=gateway,password=hunter2-not-logged", "/dev/null", "ssl=true")]
    public async Task BadRedisSetting_StopsStartUpWithOneLine_WithoutThePassword(string configuration, string? caPath, string named)
    {
        var settings = await GatewayHost.DefaultSettingsAsync("http://127.0.0.1:9");
        settings["Redis:Configuration"] = configuration;
        settings["Redis:CaCertificatePath"] = caPath;
        await using var gateway = GatewayProcess.Start(settings);

        var exitCode = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains(named, Assert.Single(gateway.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.DoesNotContain("hunter2-not-logged", gateway.StandardError + gateway.StandardOutput);
        Assert.DoesNotContain("   at ", gateway.StandardError + gateway.StandardOutput);
    }

    [Fact]
    public async Task TeamKeyFromTheEnvironment_IsUsed_AndAppsettingsIsFoundFromAnyWorkingDirectory()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var settings = await GatewayHost.DefaultSettingsAsync(upstream.BaseUrl);
        settings.Remove("Upstream:ApiKey");
        settings["REKA_API_KEY"] = "team-key-from-env";
        settings["Logging:LogLevel:Default"] = "Information";
        await using var gateway = GatewayProcess.Start(settings);
        await gateway.WaitUntilLiveAsync(TimeSpan.FromSeconds(30));
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress };
        http.DefaultRequestHeaders.Add("X-Api-Key", TestClients.Alice.Key);

        var response = await http.GetAsync("/v2/videos");

        response.EnsureSuccessStatusCode();
        Assert.Equal("team-key-from-env", Assert.Single(upstream.Requests).Headers["X-Api-Key"]);
        // The JSON console logger and the "Yarp: Warning" level come from appsettings.json.
        Assert.Contains("\"Category\":\"Microsoft.Hosting.Lifetime\"", gateway.StandardOutput);
        Assert.DoesNotContain("team-key-from-env", gateway.StandardOutput);
    }
}
