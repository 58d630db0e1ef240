using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure;

namespace Reka.Gateway.Webhooks;

/// <summary>
/// Tokens that only the gateway can mint, put in the <c>webhook_url</c> it hands Reka. Reka's
/// callbacks are not documented to be signed (Reka's "Submit" reference only names <c>webhook_url</c>), so the token is what
/// makes a callback genuine: <c>{submission id}.{HMAC-SHA256(CallbackSecret, submission id), 128 bits}</c>,
/// base64url. The submission id names the gateway's record of the submit, which binds the
/// request id Reka assigns.
/// </summary>
internal sealed class CallbackTokens(IOptions<WebhooksOptions> webhooks, IOptions<GatewayOptions> gateway)
{
    /// <summary>Query parameter carrying the token.</summary>
    public const string QueryParameter = "token";

    /// <summary>Path of the receiver.</summary>
    public const string ReceiverPath = "/webhooks/inference";

    private const int MacBytes = 16;
    private readonly byte[] _key = Encoding.UTF8.GetBytes(webhooks.Value.CallbackSecret);
    private readonly string _receiverUrl = gateway.Value.PublicBaseUrl.TrimEnd('/') + ReceiverPath;

    /// <summary>A new random submission id (128 bits, base64url).</summary>
    public static string NewSubmissionId() => WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(16));

    /// <summary>The callback URL for <paramref name="submissionId"/>: <c>{PublicBaseUrl}/webhooks/inference?token=...</c>.</summary>
    public string CallbackUrl(string submissionId) => $"{_receiverUrl}?{QueryParameter}={Mint(submissionId)}";

    /// <summary>The token for <paramref name="submissionId"/>.</summary>
    public string Mint(string submissionId) => submissionId + "." + WebEncoders.Base64UrlEncode(Mac(submissionId));

    /// <summary>Whether <paramref name="token"/> is one this gateway minted; its submission id if so.</summary>
    public bool TryVerify(string? token, out string submissionId)
    {
        submissionId = "";
        var dot = token?.IndexOf('.') ?? -1;
        if (token is null || dot <= 0 || token.Length > 128)
        {
            return false;
        }
        // The token exactly as minted, character for character: decoding the MAC instead would
        // accept other spellings of it (base64 decoding skips white space, so "...%0A" passed).
        var id = token[..dot];
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(Mint(id))))
        {
            return false;
        }
        submissionId = id;
        return true;
    }

    private byte[] Mac(string submissionId) =>
        HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes("reka-gateway.callback.v1." + submissionId))[..MacBytes];
}
