using System.ComponentModel.DataAnnotations;

namespace Reka.Gateway.Clients;

/// <summary>A fixed-window request limit: <c>permit_limit</c> requests per <c>window_seconds</c> seconds.</summary>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
public sealed class RateLimitOptions
{
    /// <summary>Requests allowed per window.</summary>
    [Range(1, int.MaxValue)]
    public int PermitLimit { get; set; } = 600;

    /// <summary>Window length in seconds.</summary>
    [Range(1, int.MaxValue)]
    public int WindowSeconds { get; set; } = 60;
}
