using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure.StandardWebhooks;

namespace Reka.Gateway.Clients;

/// <summary>The <c>Clients</c> section: client name to its settings.</summary>
public sealed class ClientsOptions : Dictionary<string, ClientOptions>, IValidatableObject
{
    internal const string SectionName = "Clients";

    /// <summary>Creates an empty, case-sensitive map.</summary>
    public ClientsOptions() : base(StringComparer.Ordinal) { }

    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        foreach (var (client, settings) in this)
        {
            if (!ClientNames.IsValid(client))
            {
                yield return new($"Clients:{client}: a client name is {ClientNames.Rule}.");
            }
            if (settings.KeySha256.Length != 64 || !settings.KeySha256.All(c => char.IsAsciiHexDigitLower(c) || char.IsAsciiDigit(c)))
            {
                yield return new($"Clients:{client}:KeySha256 must be the lowercase hex SHA-256 of the client's key (64 characters).");
            }
            if (settings.WebhookSecret is { } secret && !WebhookSecret.IsValid(secret))
            {
                yield return new($"Clients:{client}:WebhookSecret must be 'whsec_' followed by base64 of 24 to 64 random bytes.");
            }
            if (settings.RateLimit is { } limit && (limit.PermitLimit < 1 || limit.WindowSeconds < 1))
            {
                yield return new($"Clients:{client}:RateLimit needs PermitLimit >= 1 and WindowSeconds >= 1.");
            }
            if (settings.Quotas is { } quotas && (quotas.MaxInFlight < 1 || quotas.DailySubmits < 1))
            {
                yield return new($"Clients:{client}:Quotas: MaxInFlight and DailySubmits must be at least 1 when set.");
            }
            if (settings.AllowedEndpoints?.FirstOrDefault(e => !ClientNames.IsEndpointId(e)) is { } endpoint)
            {
                yield return new($"Clients:{client}:AllowedEndpoints: '{endpoint}' is not {{model}}/{{capability}}.");
            }
        }
        if (Values.GroupBy(c => c.KeySha256).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            yield return new($"Two clients share KeySha256 {duplicate.Key[..Math.Min(8, duplicate.Key.Length)]}...; every client needs its own key.");
        }
    }
}

[OptionsValidator]
internal sealed partial class ClientsOptionsValidator : IValidateOptions<ClientsOptions>;
