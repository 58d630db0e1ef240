using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FluentValidation;
using Microsoft.Extensions.Options;
using Reka.Gateway.Requests;
using Reka.Gateway.Webhooks;
using Reka.Gateway.Subscriptions;

namespace Reka.Gateway.Inference;

/// <summary>Rules shared by the inference validators.</summary>
internal static partial class InferenceRules
{
    /// <summary>A request id must be one by <see cref="RequestIds"/>.</summary>
    public static IRuleBuilderOptions<T, string> MustBeRequestId<T>(this IRuleBuilder<T, string> rule) =>
        rule.Must(RequestIds.IsValid).WithMessage($"'request_id' must be {RequestIds.Rule}.");

    /// <summary>Whether <paramref name="value"/> is a boolean as Reka's API reads them.</summary>
    public static bool IsBoolean(string value) => ParseBoolean(value) is not null;

    /// <summary>Reads a query boolean (true/false, 1/0, yes/no, on/off, any case); null when it is none of them.</summary>
    public static bool? ParseBoolean(string value) => value.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" or "on" => true,
        "false" or "0" or "no" or "off" => false,
        _ => null,
    };

    /// <summary>Parses an ISO 8601 date or date-time; null when <paramref name="value"/> is not one.</summary>
    public static DateTimeOffset? ParseIso8601(string? value) =>
        value is not null && Iso8601Pattern().IsMatch(value)
        && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
            ? parsed
            : null;

    // \z, not $: $ also matches before a final line feed.
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?([Zz]|[+-]\d{2}:?\d{2})?)?\z")]
    private static partial Regex Iso8601Pattern();
}

/// <summary>
/// A submit's <c>{model}</c> and <c>{capability}</c> are each one path segment of unreserved
/// characters, as request ids are (<see cref="RequestIds.IsValid"/>). It needs a JSON object body with an <c>input</c> object; <c>webhook_url</c>, when
/// present, must be an absolute http(s) URI of 1-2083 characters (Reka "Submit" reference),
/// and a subscriber URL the gateway may deliver to (<see cref="SubscriberUrlOptions.SubscriberUrlProblem"/>).
/// </summary>
internal sealed class SubmitInferenceValidator : AbstractValidator<SubmitInferenceRequest>
{
    /// <summary>Creates the validator; <paramref name="subscribers"/> says where deliveries may go.</summary>
    public SubmitInferenceValidator(IOptions<SubscriberUrlOptions> subscribers)
    {
        // Each is one path segment upstream, held to the request ids' rule (one segment of unreserved
        // characters): an encoded '/' kept in it ("requests%2F<id>", with "cancel" as the
        // capability) would be another route to a server that decodes it before routing.
        RuleFor(r => r.Model).Must(RequestIds.IsValid).WithMessage($"'model' must be {RequestIds.Rule}.").OverridePropertyName("model");
        RuleFor(r => r.Capability).Must(RequestIds.IsValid).WithMessage($"'capability' must be {RequestIds.Rule}.").OverridePropertyName("capability");
        // Named after the member at fault when the body broke the JSON policy (a repeated or invalid member).
        RuleFor(r => r.Body).Custom((body, context) =>
        {
            if (body is null)
            {
                context.AddFailure(context.InstanceToValidate.BodyErrorField, context.InstanceToValidate.BodyError ?? "The body must be a JSON object.");
            }
        });
        When(r => r.Body is not null, () =>
        {
            RuleFor(r => r.Input).Must(input => input is JsonObject)
                .WithMessage("'input' is required and must be a JSON object.").OverridePropertyName("input");
            RuleFor(r => r.WebhookUrl).Custom((node, context) =>
            {
                if (node is null)
                {
                    return; // "string or null", optional
                }
                var problem = node is JsonValue value && value.TryGetValue<string>(out var url)
                    ? subscribers.Value.SubscriberUrlProblem(url)
                    : $"must be an absolute http or https URL of 1-{SubscriberUrlOptions.MaxSubscriberUrlLength} characters";
                if (problem is not null)
                {
                    context.AddFailure("webhook_url", $"'webhook_url' {problem}.");
                }
                else if (context.InstanceToValidate.Client?.WebhookSecret is null)
                {
                    var name = context.InstanceToValidate.Client?.Name;
                    context.AddFailure("webhook_url", $"Client '{name}' has no Clients:{name}:WebhookSecret to sign deliveries to its 'webhook_url'.");
                }
            });
        });
    }

    /// <summary>The submit's <c>webhook_url</c> as a URI, when it has a valid one.</summary>
    public static Uri? WebhookUri(SubmitInferenceRequest request) =>
        request.WebhookUrl is JsonValue value && value.TryGetValue<string>(out var url) && Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri : null;
}

/// <summary>
/// The list call needs <c>limit</c> 1-100, <c>offset</c> &gt;= 0 and <c>start</c>/<c>end</c> in
/// ISO 8601 with start before end (Reka "List inference requests" reference).
/// </summary>
internal sealed class ListInferenceQueryValidator : AbstractValidator<ListInferenceQuery>
{
    public ListInferenceQueryValidator()
    {
        RuleFor(q => q.Limit).Must(l => int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 100)
            .When(q => q.Limit is not null).WithMessage("'limit' must be an integer from 1 to 100.").OverridePropertyName("limit");
        RuleFor(q => q.Offset).Must(o => int.TryParse(o, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .When(q => q.Offset is not null).WithMessage("'offset' must be an integer of at least 0.").OverridePropertyName("offset");
        RuleFor(q => q.Start).Must(s => InferenceRules.ParseIso8601(s) is not null)
            .When(q => q.Start is not null).WithMessage("'start' must be an ISO 8601 date-time, e.g. 2024-01-15T09:30:00Z.").OverridePropertyName("start");
        RuleFor(q => q.End).Must(s => InferenceRules.ParseIso8601(s) is not null)
            .When(q => q.End is not null).WithMessage("'end' must be an ISO 8601 date-time, e.g. 2024-01-16T00:00:00Z.").OverridePropertyName("end");
        RuleFor(q => q.End).Must((q, end) => InferenceRules.ParseIso8601(q.Start) < InferenceRules.ParseIso8601(end))
            .When(q => InferenceRules.ParseIso8601(q.Start) is not null && InferenceRules.ParseIso8601(q.End) is not null)
            .WithMessage("'start' must be before 'end'.").OverridePropertyName("end");
    }
}

/// <summary>A request id must be a single safe path segment (<see cref="InferenceRules.MustBeRequestId{T}"/>).</summary>
internal sealed class InferenceRequestRouteValidator : AbstractValidator<InferenceRequestRoute>
{
    public InferenceRequestRouteValidator() => RuleFor(r => r.RequestId).MustBeRequestId().OverridePropertyName("request_id");
}

/// <summary>Status parameters: a safe request id and a boolean <c>with_logs</c>.</summary>
internal sealed class InferenceStatusQueryValidator : AbstractValidator<InferenceStatusQuery>
{
    public InferenceStatusQueryValidator()
    {
        RuleFor(q => q.RequestId).MustBeRequestId().OverridePropertyName("request_id");
        RuleFor(q => q.WithLogs).Must(v => InferenceRules.IsBoolean(v!)).When(q => q.WithLogs is not null)
            .WithMessage("'with_logs' must be true or false.").OverridePropertyName("with_logs");
    }
}

/// <summary>Result parameters: a safe request id and <c>wait</c> of 0-60 seconds.</summary>
internal sealed class InferenceResultQueryValidator : AbstractValidator<InferenceResultQuery>
{
    /// <summary>Longest <c>wait</c>, in seconds.</summary>
    public const int MaxWaitSeconds = 60;

    public InferenceResultQueryValidator()
    {
        RuleFor(q => q.RequestId).MustBeRequestId().OverridePropertyName("request_id");
        RuleFor(q => q.Wait).Must(w => int.TryParse(w, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= MaxWaitSeconds)
            .When(q => q.Wait is not null).WithMessage($"'wait' must be a whole number of seconds from 0 to {MaxWaitSeconds}.").OverridePropertyName("wait");
    }
}
