using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace Reka.Gateway.Clients;

/// <summary>
/// Gateway keys: <c>gk_</c> followed by 32 random bytes in base64url (43 characters), a shape
/// secret scanners can match. Only the lowercase hex SHA-256 of a key is ever stored; a key is
/// shown once, when it is made. Each key has a public id (<c>key_</c> + 16 hex characters) to name
/// it in listings, audit entries and revocations.
/// </summary>
internal static class ClientKeys
{
    /// <summary>The prefix of every key the gateway issues.</summary>
    public const string Prefix = "gk_";

    /// <summary>A new key and its id.</summary>
    public static (string KeyId, string Key) New() =>
        ("key_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), Prefix + WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32)));

    /// <summary>Lowercase hex SHA-256 of a key's UTF-8 bytes, the form <c>KeySha256</c> takes.</summary>
    public static string Hash(ReadOnlySpan<char> key)
    {
        Span<char> hex = stackalloc char[HashLength];
        Hash(key, hex);
        return new string(hex);
    }

    /// <summary>Characters of a <see cref="Hash(ReadOnlySpan{char})"/>.</summary>
    public const int HashLength = SHA256.HashSizeInBytes * 2;

    /// <summary>Writes <see cref="Hash(ReadOnlySpan{char})"/> of <paramref name="key"/> to <paramref name="hex"/> (<see cref="HashLength"/> characters).</summary>
    public static void Hash(ReadOnlySpan<char> key, Span<char> hex)
    {
        Span<byte> utf8 = key.Length <= 256 ? stackalloc byte[Encoding.UTF8.GetMaxByteCount(key.Length)] : new byte[Encoding.UTF8.GetMaxByteCount(key.Length)];
        var length = Encoding.UTF8.GetBytes(key, utf8);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8[..length], hash);
        if (!Convert.TryToHexStringLower(hash, hex, out var written) || written != HashLength)
        {
            throw new ArgumentException($"{HashLength} characters are needed for a key's hash.", nameof(hex));
        }
    }
}
