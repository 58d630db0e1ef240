using System.Text.RegularExpressions;

namespace Reka.Gateway.Clients;

/// <summary>What a client name and an endpoint id may be.</summary>
internal static partial class ClientNames
{
    /// <summary>The rule for names, in words, for error details.</summary>
    public const string Rule = "1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-', starting with a letter or digit";

    /// <summary>
    /// Whether <paramref name="name"/> may name a client. Names go into Redis keys (inside hash
    /// tags), metrics tags and URLs, so they are kept to a safe alphabet.
    /// </summary>
    public static bool IsValid(string name) => NamePattern().IsMatch(name);

    /// <summary>Whether <paramref name="endpointId"/> is <c>{model}/{capability}</c>, each a path segment as submits take them.</summary>
    public static bool IsEndpointId(string endpointId) => EndpointPattern().IsMatch(endpointId);

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\z")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^[A-Za-z0-9._~-]{1,128}/[A-Za-z0-9._~-]{1,128}\z")]
    private static partial Regex EndpointPattern();
}
