using System.ComponentModel.DataAnnotations;

namespace Reka.Gateway.Infrastructure.Validation;

/// <summary>A setting that must be an absolute http or https URL.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class HttpUrlAttribute : ValidationAttribute
{
    public HttpUrlAttribute() : base("The field {0} must be an absolute http(s) URL.")
    {
    }

    public override bool IsValid(object? value) =>
        value is string text && Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}
