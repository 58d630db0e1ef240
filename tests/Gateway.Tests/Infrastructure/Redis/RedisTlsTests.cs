namespace Reka.Gateway.Tests.Infrastructure.Redis;

/// <summary>
/// Redis as a managed service runs it: TLS only, a certificate from a private authority, a
/// client certificate required (mutual TLS), an ACL user, and the <c>default</c> user disabled.
/// </summary>
public sealed class RedisTlsTests
{
    private const string Password = "acl-user-password-7d1e9c4b";

    [Fact]
    public async Task OverMutualTlsWithAPrivateCaAndAnAclUser_ASubmitEndsAsACachedResult_AndNoLogLineHoldsThePassword()
    {
        using var certificates = await TestCertificates.CreateAsync();
        await using var redis = await RedisServer.StartAsync(tls: true, arguments:
        [
            "--tls-cert-file", certificates.ServerCertificate, "--tls-key-file", certificates.ServerKey,
            "--tls-ca-cert-file", certificates.CaCertificate, "--tls-auth-clients", "yes",
            "--user", "default", "off", "--user", "gateway", "on", ">" + Password, "~*", "&*", "+@all",
        ]);
        await using var simulator = await SimulatorHost.StartAsync(new Dictionary<string, string?>
        {
            ["Simulator:ApiKey"] = TestClients.TeamKey,
            ["Simulator:QueueSeconds"] = "0.05",
            ["Simulator:RunSeconds"] = "0.05",
        });
        var settings = await GatewayHost.DefaultSettingsAsync(simulator.BaseAddress.ToString().TrimEnd('/'));
        settings["Redis:Configuration"] = $"127.0.0.1:{redis.Port},ssl=true,user=gateway,password={Password}";
        settings["Redis:CaCertificatePath"] = certificates.CaCertificate;
        settings["Redis:ClientCertificatePath"] = certificates.ClientCertificate;
        settings["Redis:ClientKeyPath"] = certificates.ClientKey;
        settings["Logging:LogLevel:Default"] = "Debug";
        var port = FreePort.Next();
        settings["Gateway:PublicBaseUrl"] = $"http://127.0.0.1:{port}";
        await using var gateway = GatewayProcess.Start(settings, port);
        await gateway.WaitUntilLiveAsync(TimeSpan.FromSeconds(30));
        using var alice = new HttpClient { BaseAddress = gateway.BaseAddress };
        alice.DefaultRequestHeaders.Add("X-Api-Key", TestClients.Alice.Key);

        var requestId = await alice.SubmitAsync();

        HttpResponseMessage? result = null;
        await Eventually.ThatAsync(async () =>
        {
            result = await alice.GetAsync($"/v2/inference/requests/{requestId}");
            return result.Headers.TryGetValues("X-Cache", out var cache) && cache.Single() == "HIT";
        }, 30, "the result to be cached");
        Assert.Equal(HttpStatusCode.OK, result!.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/readyz")).StatusCode);
        Assert.DoesNotContain(Password, gateway.StandardOutput + gateway.StandardError);
    }

    [Fact]
    public async Task WithoutTheClientCertificateRedisAsksFor_TheGatewayIsNotReady_AndSaysRedis()
    {
        using var certificates = await TestCertificates.CreateAsync();
        await using var redis = await RedisServer.StartAsync(tls: true, arguments:
        [
            "--tls-cert-file", certificates.ServerCertificate, "--tls-key-file", certificates.ServerKey,
            "--tls-ca-cert-file", certificates.CaCertificate, "--tls-auth-clients", "yes",
        ]);
        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl,
        [
            new("Redis:Configuration", $"127.0.0.1:{redis.Port},ssl=true"),
            new("Redis:CaCertificatePath", certificates.CaCertificate),
        ]);

        var problem = await ProblemAssert.IsProblemAsync(await gateway.CreateClient().GetAsync("/readyz"), HttpStatusCode.ServiceUnavailable);

        Assert.Contains("redis", problem.GetProperty("detail").GetString());
    }
}
