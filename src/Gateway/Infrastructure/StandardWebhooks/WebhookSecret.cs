namespace Reka.Gateway.Infrastructure.StandardWebhooks;

/// <summary>
/// Signing secrets in the Standard Webhooks form: <c>whsec_</c> followed by the base64 of the key
/// (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md, "Signature scheme").
/// </summary>
internal static class WebhookSecret
{
    /// <summary>Prefix of every secret.</summary>
    public const string Prefix = "whsec_";

    /// <summary>Whether <paramref name="secret"/> is <c>whsec_</c> + base64 of 24 to 64 bytes.</summary>
    public static bool IsValid(string secret) => TryGetKey(secret, out var key) && key.Length is >= 24 and <= 64;

    /// <summary>The HMAC key a secret stands for.</summary>
    /// <exception cref="FormatException">The secret is not in the <c>whsec_</c> form.</exception>
    public static byte[] GetKey(string secret) =>
        TryGetKey(secret, out var key) ? key : throw new FormatException("A webhook secret must be 'whsec_' followed by base64.");

    /// <summary>A new random secret of 32 bytes.</summary>
    public static string Generate() => Prefix + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    private static bool TryGetKey(string secret, out byte[] key)
    {
        key = [];
        if (!secret.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }
        var encoded = secret.AsSpan(Prefix.Length);
        var buffer = new byte[encoded.Length];
        if (!Convert.TryFromBase64Chars(encoded, buffer, out var written))
        {
            return false;
        }
        key = buffer[..written];
        return true;
    }
}
