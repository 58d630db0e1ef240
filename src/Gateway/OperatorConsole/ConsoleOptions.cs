using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Reka.Gateway.OperatorConsole;

/// <summary>Settings of the operator console at <c>/console</c> (section <c>Console</c>).</summary>
public sealed class ConsoleOptions : IValidatableObject
{
    internal const string SectionName = "Console";

    /// <summary>A session unused this long ends (sliding: each page or update renews it). Default 30 minutes.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>A session ends this long after sign-in however much it is used. Default 12 hours.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>
    /// When the session cookie is marked <c>Secure</c>: <c>SameAsRequest</c> (default: when the
    /// console is reached over https) or <c>Always</c> (set it when TLS ends in front of the
    /// gateway, so that the gateway sees http while the browser uses https).
    /// </summary>
    public CookieSecurePolicy SecureCookie { get; set; } = CookieSecurePolicy.SameAsRequest;

    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (SecureCookie == CookieSecurePolicy.None)
        {
            yield return new("Console:SecureCookie must be SameAsRequest or Always: a session cookie sent over https must be Secure.");
        }
        if (IdleTimeout > SessionLifetime)
        {
            yield return new("Console:IdleTimeout must not be longer than Console:SessionLifetime.");
        }
    }
}

[OptionsValidator]
internal sealed partial class ConsoleOptionsValidator : IValidateOptions<ConsoleOptions>;
