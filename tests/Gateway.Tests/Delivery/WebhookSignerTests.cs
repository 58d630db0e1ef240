using Reka.Gateway.Delivery;
using Reka.Gateway.Infrastructure.StandardWebhooks;

namespace Reka.Gateway.Tests.Delivery;

public sealed class WebhookSignerTests
{
    [Fact]
    public void Signature_MatchesTheStandardWebhooksReferenceExample()
    {
        // The example of the Standard Webhooks specification (and svix's documentation).
        var signature = WebhookSigner.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
            Encoding.UTF8.GetBytes("""{"test": 2432232314}"""));

        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", signature);
    }

    [Fact]
    public void Signature_ChangesWithTheBody_TheTimestampAndTheId()
    {
        var secret = WebhookSecret.Generate();
        var body = Encoding.UTF8.GetBytes("{}");
        var reference = WebhookSigner.Sign(secret, "evt_1", 100, body);

        Assert.NotEqual(reference, WebhookSigner.Sign(secret, "evt_1", 100, Encoding.UTF8.GetBytes("{ }")));
        Assert.NotEqual(reference, WebhookSigner.Sign(secret, "evt_1", 101, body));
        Assert.NotEqual(reference, WebhookSigner.Sign(secret, "evt_2", 100, body));
        Assert.NotEqual(reference, WebhookSigner.Sign(WebhookSecret.Generate(), "evt_1", 100, body));
    }

    [Theory]
    [InlineData("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    [InlineData("whsec_not base64!")]
    [InlineData("whsec_c2hvcnQ=")]
    public void Secret_NotInTheWhsecFormOrTooShort_IsRejected(string secret) =>
        Assert.False(WebhookSecret.IsValid(secret));
}
