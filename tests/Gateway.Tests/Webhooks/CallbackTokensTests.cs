using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Webhooks;

namespace Reka.Gateway.Tests.Webhooks;

public sealed class CallbackTokensTests
{
    private static CallbackTokens Tokens(string secret) => new(
        Options.Create(new WebhooksOptions { CallbackSecret = secret }),
        Options.Create(new GatewayOptions { PublicBaseUrl = "https://gateway.internal.example/" }));

    [Fact]
    public void MintedToken_Verifies_AndNamesItsSubmission()
    {
        var tokens = Tokens("secret-of-at-least-32-characters-000000");
        var submission = CallbackTokens.NewSubmissionId();

        Assert.True(tokens.TryVerify(tokens.Mint(submission), out var verified));
        Assert.Equal(submission, verified);
    }

    [Fact]
    public void CallbackUrl_IsTheGatewaysReceiverWithTheToken()
    {
        var tokens = Tokens("secret-of-at-least-32-characters-000000");

        var url = new Uri(tokens.CallbackUrl("sub1"));

        Assert.Equal("https://gateway.internal.example/webhooks/inference", url.GetLeftPart(UriPartial.Path));
        Assert.Equal("?token=" + tokens.Mint("sub1"), url.Query);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("no-dot")]
    [InlineData(".onlymac")]
    [InlineData("sub1.not*base64")]
    public void Malformed_DoesNotVerify(string? token) =>
        Assert.False(Tokens("secret-of-at-least-32-characters-000000").TryVerify(token, out _));

    [Fact]
    public void TokenOfAnotherSecret_OrAnotherSubmission_DoesNotVerify()
    {
        var ours = Tokens("secret-of-at-least-32-characters-000000");
        var theirs = Tokens("another-secret-of-32-characters-1111111");
        var token = ours.Mint("sub1");

        Assert.False(theirs.TryVerify(token, out _));
        Assert.False(ours.TryVerify("sub2" + token[token.IndexOf('.')..], out _));
    }
}
