namespace Reka.Gateway.Tests.Infrastructure.Redis;

/// <summary>
/// Redis as a managed service runs it: TLS only, a certificate from a private authority, a
/// client certificate required (mutual TLS), an ACL user, and the <c>default</c> user disabled.
/// </summary>
public sealed class RedisTlsTests
{
    private const string Password = "acl-user-password-7d1e9c4b";

    /// <summary>A Redis on TLS only, with a certificate of <paramref name="certificates"/>' authority, that asks clients for theirs.</summary>
    private static Task<RedisServer> StartTlsRedisAsync(TestCertificates certificates, params string[] arguments) => RedisServer.StartAsync(tls: true, arguments:
    [
        "--tls-cert-file", certificates.ServerCertificate, "--tls-key-file", certificates.ServerKey,
        "--tls-ca-cert-file", certificates.CaCertificate, "--tls-auth-clients", "yes", .. arguments,
    ]);

    [Fact]
    public async Task OverMutualTlsWithAPrivateCaAndAnAclUser_ASubmitEndsAsACachedResult_AndNoLogLineHoldsThePassword()
    {
        using var certificates = await TestCertificates.CreateAsync();
        await using var redis = await StartTlsRedisAsync(certificates,
            "--user", "default", "off", "--user", "gateway", "on", ">" + Password, "~*", "&*", "+@all");
        await using var simulator = await SimulatorHost.StartForGatewayAsync();
        var settings = await GatewayHost.DefaultSettingsAsync(simulator.BaseUrl);
        settings["Redis:Configuration"] = $"127.0.0.1:{redis.Port},ssl=true,user=gateway,password={Password}";
        settings["Redis:CaCertificatePath"] = certificates.CaCertificate;
        settings["Redis:ClientCertificatePath"] = certificates.ClientCertificate;
        settings["Redis:ClientKeyPath"] = certificates.ClientKey;
        settings["Logging:LogLevel:Default"] = "Debug";
        await using var gateway = GatewayProcess.StartAtItsOwnAddress(settings);
        await gateway.WaitUntilLiveAsync(TimeSpan.FromSeconds(30));
        using var alice = gateway.CreateClient(TestClients.Alice);

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
        await using var redis = await StartTlsRedisAsync(certificates);
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
