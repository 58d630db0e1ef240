using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Reka.Gateway.Webhooks;
using Reka.Gateway.Subscriptions;

namespace Reka.Gateway.Tests.Subscriptions;

public sealed class AllowedSubscriberHostsTests
{
    [Theory]
    [InlineData("hooks.example", "http://hooks.example/x", true)]
    [InlineData("hooks.example", "https://hooks.example/x", true)]
    [InlineData("hooks.example", "http://hooks.example:443/x", true)]
    [InlineData("hooks.example", "http://hooks.example:6379/x", false)]
    [InlineData("hooks.example", "https://hooks.example:8443/x", false)]
    [InlineData("HOOKS.example", "http://hooks.EXAMPLE/x", true)]
    [InlineData("hooks.example:8080", "http://hooks.example:8080/x", true)]
    [InlineData("hooks.example:8080", "http://hooks.example/x", false)]
    [InlineData("hooks.example:8080", "http://other.example:8080/x", false)]
    [InlineData("*.svc.example", "http://a.svc.example/x", true)]
    [InlineData("*.svc.example", "http://a.svc.example:6379/x", false)]
    [InlineData("*.svc.example", "http://svc.example/x", false)]
    [InlineData("*.svc.example", "http://evilsvc.example/x", false)]
    [InlineData("*.svc.example:9000", "http://a.b.svc.example:9000/x", true)]
    [InlineData("*.svc.example:9000", "http://a.svc.example:9001/x", false)]
    [InlineData("127.0.0.1:*", "http://127.0.0.1:6379/x", true)]
    [InlineData("127.0.0.1:*", "http://127.0.0.2/x", false)]
    [InlineData("[::1]:8080", "http://[0:0::1]:8080/x", true)]
    [InlineData("[::1]", "http://[::1]:8080/x", false)]
    public void AnEntry_AllowsItsHostOnItsPorts_AHostAlone80And443(string entry, string url, bool allowed)
    {
        var options = new SubscriberUrlOptions { AllowedSubscriberHosts = [entry] };

        Assert.Equal(allowed, options.SubscriberUrlProblem(url) is null);
    }

    [Theory]
    [InlineData("http://hook-user:hook-s3cret@hooks.example/x")]
    [InlineData("http://hook-user@hooks.example/x")]
    [InlineData("http://hook-user:hook-s3cret@evil.example:6379/x")]
    public void AUrlWithUserInformation_IsRefused_WithoutRepeatingIt(string url)
    {
        var options = new SubscriberUrlOptions { AllowedSubscriberHosts = ["hooks.example"] };

        var problem = options.SubscriberUrlProblem(url);

        Assert.NotNull(problem);
        Assert.Contains("user information", problem);
        Assert.DoesNotContain("hook-", problem);
    }

    [Theory]
    [InlineData("http://hooks.example/x\n")]
    [InlineData(" http://hooks.example/x")]
    [InlineData("ftp://hooks.example/x")]
    [InlineData("/relative")]
    public void AUrlThatIsNotAnAbsoluteHttpUrlAsWritten_IsRefused(string url) =>
        Assert.NotNull(new SubscriberUrlOptions { AllowedSubscriberHosts = ["hooks.example"] }.SubscriberUrlProblem(url));

    [Theory]
    [InlineData("hooks.example:0")]
    [InlineData("hooks.example:65536")]
    [InlineData("hooks.example:")]
    [InlineData("hooks.example:80:81")]
    [InlineData("hooks.example:http")]
    [InlineData("*:80")]
    [InlineData("*.:80")]
    [InlineData("::1")]
    [InlineData("user@hooks.example")]
    [InlineData("http://hooks.example")]
    [InlineData("*.[::1]")]
    public void AMalformedEntry_StopsStartUp_NamingIt(string entry)
    {
        var failures = StartUpFailures(entry);

        var failure = Assert.Single(failures);
        Assert.Contains("Webhooks:AllowedSubscriberHosts", failure);
        Assert.Contains($"'{entry}'", failure);
    }

    [Theory]
    [InlineData("hooks.example")]
    [InlineData("hooks.example:8080")]
    [InlineData("*.webhooks.svc.cluster.local")]
    [InlineData("*.webhooks.svc.cluster.local:8080")]
    [InlineData("127.0.0.1:*")]
    [InlineData("[::1]:8080")]
    public void AWellFormedEntry_PassesTheStartUpCheck(string entry) =>
        Assert.Empty(StartUpFailures(entry));

    private static IEnumerable<string> StartUpFailures(string entry)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration["Webhooks:AllowedSubscriberHosts:0"] = entry;
        builder.AddSubscriptions();
        using var services = builder.Services.BuildServiceProvider();
        try
        {
            _ = services.GetRequiredService<IOptions<SubscriberUrlOptions>>().Value;
            return [];
        }
        catch (OptionsValidationException e)
        {
            return e.Failures;
        }
    }
}
