namespace Reka.Simulator.Api;

/// <summary>Reads the API key a call presents, the way Reka accepts it.</summary>
public static class ApiCredentials
{
    private const string BearerPrefix = "Bearer ";

    /// <summary>The key from <c>X-Api-Key</c>, else from <c>Authorization: Bearer</c>; null when neither is present.</summary>
    public static string? Read(HttpRequest request)
    {
        var apiKey = request.Headers["X-Api-Key"];
        if (apiKey.Count > 0 && !string.IsNullOrEmpty(apiKey[0])) return apiKey[0];

        var authorization = request.Headers.Authorization;
        if (authorization.Count == 0) return null;
        var value = authorization[0];
        return value is not null && value.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase)
            ? value[BearerPrefix.Length..].Trim()
            : null;
    }
}
