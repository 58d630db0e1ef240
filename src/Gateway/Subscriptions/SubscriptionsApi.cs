using System.ComponentModel;
using FluentValidation;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Infrastructure.StandardWebhooks;
using Reka.Gateway.Infrastructure.Validation;

namespace Reka.Gateway.Subscriptions;

/// <summary>
/// Webhook subscriptions, for admin clients (<c>Clients:&lt;name&gt;:Admin</c>): create, list,
/// get, enable or disable, delete. Their deliveries are Delivery's (<c>/subscriptions/{id}/deliveries</c>).
/// </summary>
internal static class SubscriptionsApi
{
    /// <summary>Maps <c>/subscriptions</c>; returns the group, for the routes of subscriptions' deliveries.</summary>
    public static RouteGroupBuilder MapSubscriptionsApi(this IEndpointRouteBuilder endpoints)
    {
        var subscriptions = endpoints.MapGroup("/subscriptions")
            .WithTag("Subscriptions", "Webhook subscriptions (admin clients) and their deliveries, each with every attempt; replay of one delivery or of a subscription's dead letters. What the gateway delivers is described under `webhooks`.")
            .RequireAuthorization(ClientsSetup.AdminPolicy)
            .RequireRateLimiting(ClientsSetup.PerClientRateLimit)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        subscriptions.MapPost("", CreateAsync)
            .WithName("CreateSubscription")
            .WithSummary("Subscribe a URL to events")
            .WithDescription("The answer shows the signing secret (`whsec_...`) once; deliveries are signed with it by the Standard Webhooks scheme. " +
                "Send an `Idempotency-Key` (at most 255 characters) to make a retry safe: the same key and body answer the same subscription again, secret included, " +
                "with `Idempotent-Replayed: true`, instead of creating a second one; the same key with another body is 422; " +
                "the same key within 24 hours of the deletion of the subscription it created is 409.")
            .Produces<CreatedSubscription>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithValidation<CreateSubscriptionRequest>()
            .WhenRedisIsUnavailable("The subscription was not created.",
                unconfirmed: "The subscription was saved, but may be lost in a failover. Retry under the same Idempotency-Key to have it confirmed rather than create a second one " +
                    "(without a key, list the subscriptions first).");

        subscriptions.MapGet("", async (SubscriptionStore store) => TypedResults.Ok((await store.ListAsync()).Select(s => s.ToView())))
            .WithName("ListSubscriptions")
            .WithSummary("List subscriptions");

        subscriptions.MapGet("/{id}", async Task<IResult> (string id, SubscriptionStore store) =>
                await store.GetAsync(id) is { } subscription ? TypedResults.Ok(subscription.ToView()) : NotFound(id))
            .WithName("GetSubscription")
            .WithSummary("Get a subscription")
            .Produces<SubscriptionView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        subscriptions.MapPatch("/{id}", PatchAsync)
            .WithName("UpdateSubscription")
            .WithSummary("Enable or disable a subscription")
            .WithDescription("`{\"enabled\": false}` stops deliveries to it: no new ones, and pending ones end as `disabled` at their next attempt. " +
                "`{\"enabled\": true}` resumes deliveries of new events; replay the deliveries missed meanwhile. Unknown fields are refused.")
            .Produces<SubscriptionView>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WithValidation<UpdateSubscriptionRequest>();

        subscriptions.MapDelete("/{id}", async Task<IResult> (string id, SubscriptionStore store) =>
                await store.DeleteAsync(id) ? TypedResults.NoContent() : NotFound(id))
            .WithName("DeleteSubscription")
            .WithSummary("Delete a subscription")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);

        return subscriptions;
    }

    // The request header that makes creating a subscription safe to retry (draft-ietf-httpapi-idempotency-key-header).
    private const string IdempotencyKeyHeader = "Idempotency-Key";

    // The response header that marks the answer to a retry under a key already used (as Stripe names it).
    private const string IdempotentReplayedHeader = "Idempotent-Replayed";

    private const int MaxIdempotencyKeyLength = 255;

    private static async Task<IResult> CreateAsync(CreateSubscriptionRequest request, [FromHeader(Name = IdempotencyKeyHeader), Description("Makes a retry safe: at most 255 characters, a UUID per subscription to create.")] string? idempotencyKey,
        HttpContext context, SubscriptionStore store, TimeProvider time)
    {
        if (idempotencyKey is { Length: 0 or > MaxIdempotencyKeyLength })
        {
            var message = $"'{IdempotencyKeyHeader}' must be 1 to {MaxIdempotencyKeyLength} characters long.";
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [IdempotencyKeyHeader] = [message] }, detail: message);
        }
        var id = idempotencyKey is null ? SubscriptionStore.NewId() : SubscriptionStore.IdFor(context.GetClient().Name, idempotencyKey);
        var (subscription, created, deletedAt) = await CreateWithIdAsync(request, id, store, time);
        if (subscription is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict,
                detail: $"The {IdempotencyKeyHeader} was already used to create subscription '{id}', which was deleted at {deletedAt:O}; " +
                    $"send a new key to create another (a key is remembered for {SubscriptionStore.DeletedIdRetention.TotalHours:0} hours after the deletion).");
        }
        if (!created)
        {
            if (!subscription.IsFor(request))
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity,
                    detail: $"The {IdempotencyKeyHeader} was already used to create subscription '{subscription.Id}' with another url, filter or description; send a new key for a new subscription.");
            }
            context.Response.Headers[IdempotentReplayedHeader] = "true";
        }
        return TypedResults.Created($"/subscriptions/{subscription.Id}", subscription.ToCreated());
    }

    // Internal, as PatchAsync: the operator console creates and changes subscriptions through them.
    // Returns SubscriptionStore.CreateAsync's outcome: the subscription stored under id and whether
    // this call created it, or when the id's subscription was deleted.
    internal static Task<(Subscription? Stored, bool Created, DateTimeOffset? DeletedAt)> CreateWithIdAsync(CreateSubscriptionRequest request, string id, SubscriptionStore store, TimeProvider time) =>
        store.CreateAsync(new Subscription(id, request.Url!, request.Filter ?? new SubscriptionFilter(),
            request.Description, time.GetUtcNow(), Enabled: true, DisabledReason: null, WebhookSecret.Generate()));

    internal static async Task<IResult> PatchAsync(string id, UpdateSubscriptionRequest request, HttpContext context, SubscriptionStore store,
        TimeProvider time, ILogger<SubscriptionStore> logger)
    {
        var actor = context.GetClient().Name;
        var enabled = request.Enabled!.Value;
        var reason = enabled ? null : $"Disabled by client '{actor}' at {time.GetUtcNow():O}.";
        if (await store.SetEnabledAsync(id, enabled, reason) is not { } changed)
        {
            return NotFound(id);
        }
        if (enabled)
        {
            GatewayLog.SubscriptionEnabled(logger, id, actor);
        }
        else
        {
            GatewayLog.SubscriptionDisabled(logger, id, reason!);
        }
        return TypedResults.Ok(changed.ToView());
    }

    /// <summary>404 problem details for subscription <paramref name="id"/>.</summary>
    public static IResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"There is no subscription '{id}'.");
}

/// <summary>
/// A subscription needs a URL the gateway may deliver to (<see cref="SubscriberUrlOptions.SubscriberUrlProblem"/>:
/// absolute http(s), at most 2083 characters, no user information, on a host and port of
/// <c>Webhooks:AllowedSubscriberHosts</c>), a description of at most 500 characters, and filter
/// lists of at most 50 non-empty values of at most <see cref="MaxFilterValueLength"/> characters.
/// </summary>
internal sealed class CreateSubscriptionRequestValidator : AbstractValidator<CreateSubscriptionRequest>
{
    /// <summary>
    /// Longest filter value, in characters: an endpoint id's two segments of at most 128 and its
    /// '/'. Every replica reads every subscription often, so none may be large.
    /// </summary>
    public const int MaxFilterValueLength = 257;

    public CreateSubscriptionRequestValidator(IOptions<SubscriberUrlOptions> subscribers)
    {
        RuleFor(r => r.Url).Cascade(CascadeMode.Stop).NotEmpty().WithMessage("'url' is required.").OverridePropertyName("url")
            .Custom((url, context) =>
            {
                if (subscribers.Value.SubscriberUrlProblem(url!) is { } problem)
                {
                    context.AddFailure("url", $"'url' {problem}.");
                }
            });
        RuleFor(r => r.Description).MaximumLength(500).OverridePropertyName("description");
        RuleFor(r => r.Filter).Must(filter => filter is null || new[] { filter.EndpointId, filter.ModelId, filter.Capability, filter.Status }
                .All(list => list is null || (list.Count <= 50 && list.All(v => !string.IsNullOrWhiteSpace(v) && v.Length <= MaxFilterValueLength))))
            .WithMessage($"Each 'filter' list may hold at most 50 non-empty values of at most {MaxFilterValueLength} characters.")
            .OverridePropertyName("filter");
    }
}

/// <summary>A change to a subscription must say whether it is enabled.</summary>
internal sealed class UpdateSubscriptionRequestValidator : AbstractValidator<UpdateSubscriptionRequest>
{
    /// <summary>Creates the validator.</summary>
    public UpdateSubscriptionRequestValidator() =>
        RuleFor(r => r.Enabled).NotNull().WithMessage("'enabled' is required: true or false.").OverridePropertyName("enabled");
}

/// <summary>Registers subscriptions.</summary>
internal static class SubscriptionsSetup
{
    public static WebApplicationBuilder AddSubscriptions(this WebApplicationBuilder builder)
    {
        builder.Services.AddSettings<SubscriberUrlOptions, SubscriberUrlOptionsValidator>(SubscriberUrlOptions.SectionName);
        builder.Services.AddSingleton<SubscriptionStore>();
        builder.Services.AddSingleton<IValidator<CreateSubscriptionRequest>, CreateSubscriptionRequestValidator>();
        builder.Services.AddSingleton<IValidator<UpdateSubscriptionRequest>, UpdateSubscriptionRequestValidator>();
        return builder;
    }
}
