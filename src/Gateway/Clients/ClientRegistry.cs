using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;

namespace Reka.Gateway.Clients;

/// <summary>An authenticated internal client.</summary>
/// <param name="Name">The client's name, the key of its <c>Clients:&lt;name&gt;</c> section.</param>
/// <param name="Options">Its configuration.</param>
internal sealed record GatewayClient(string Name, ClientOptions Options);

/// <summary>
/// Looks clients up by key. Keys are compared by their SHA-256, so configuration holds no secret
/// and a lookup leaks nothing useful through timing.
/// </summary>
internal sealed class ClientRegistry
{
    private readonly FrozenDictionary<string, GatewayClient> _byKeyHash;
    private readonly FrozenDictionary<string, GatewayClient> _byName;

    /// <summary>Builds the registry from the <c>Clients</c> section (checked at start-up: keys are unique).</summary>
    public ClientRegistry(IReadOnlyDictionary<string, ClientOptions> clients)
    {
        _byName = clients.ToFrozenDictionary(c => c.Key, c => new GatewayClient(c.Key, c.Value), StringComparer.Ordinal);
        _byKeyHash = _byName.Values.ToFrozenDictionary(c => c.Options.KeySha256, StringComparer.Ordinal);
    }

    /// <summary>All configured clients by name.</summary>
    public IReadOnlyDictionary<string, GatewayClient> ByName => _byName;

    /// <summary>Finds the client whose key is <paramref name="key"/>, or null.</summary>
    public GatewayClient? FindByKey(ReadOnlySpan<char> key)
    {
        Span<byte> utf8 = key.Length <= 256 ? stackalloc byte[Encoding.UTF8.GetMaxByteCount(key.Length)] : new byte[Encoding.UTF8.GetMaxByteCount(key.Length)];
        var length = Encoding.UTF8.GetBytes(key, utf8);
        return _byKeyHash.GetValueOrDefault(HashKey(utf8[..length]));
    }

    /// <summary>Lowercase hex SHA-256 of a key's UTF-8 bytes, the form <c>KeySha256</c> takes.</summary>
    public static string HashKey(ReadOnlySpan<byte> keyUtf8)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(keyUtf8, hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>Lowercase hex SHA-256 of a key.</summary>
    public static string HashKey(string key) => HashKey(Encoding.UTF8.GetBytes(key));
}
