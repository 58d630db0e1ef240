using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Reka.Gateway.Infrastructure.StandardWebhooks;

/// <summary>
/// Signs deliveries by the Standard Webhooks scheme
/// (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
/// <c>webhook-signature: v1,&lt;base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}"&gt;</c>,
/// keyed by the base64-decoded part of the <c>whsec_</c> secret. The official
/// <c>standardwebhooks</c> and <c>svix</c> libraries verify it.
/// </summary>
internal static class WebhookSigner
{
    /// <summary>Header carrying the message id (the event id; the same on every retry).</summary>
    public const string IdHeader = "webhook-id";

    /// <summary>Header carrying the attempt's Unix time in seconds.</summary>
    public const string TimestampHeader = "webhook-timestamp";

    /// <summary>Header carrying the signature(s).</summary>
    public const string SignatureHeader = "webhook-signature";

    /// <summary>The <c>webhook-signature</c> value for one message.</summary>
    /// <param name="secret">The subscriber's secret, <c>whsec_...</c>.</param>
    /// <param name="messageId">The <c>webhook-id</c>.</param>
    /// <param name="timestamp">The <c>webhook-timestamp</c>, Unix seconds.</param>
    /// <param name="body">The exact body bytes sent.</param>
    /// <exception cref="FormatException"><paramref name="secret"/> is not a <c>whsec_</c> secret.</exception>
    public static string Sign(string secret, string messageId, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = $"{messageId}.{timestamp}.";
        // The signed content in a pooled buffer: every delivery attempt signs a whole event.
        var signed = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(prefix.Length) + body.Length);
        try
        {
            var length = Encoding.UTF8.GetBytes(prefix, signed);
            body.CopyTo(signed.AsSpan(length));
            Span<byte> hash = stackalloc byte[HMACSHA256.HashSizeInBytes];
            HMACSHA256.HashData(WebhookSecret.GetKey(secret), signed.AsSpan(0, length + body.Length), hash);
            return "v1," + Convert.ToBase64String(hash);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(signed);
        }
    }
}
