using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Reka.Gateway.Clients;
using Reka.Gateway.Delivery;
using Reka.Gateway.Infrastructure.Validation;
using Reka.Gateway.Webhooks;

namespace Reka.Gateway.Subscriptions;

/// <summary>Answer of a bulk replay.</summary>
/// <param name="Replayed">Dead letters sent again.</param>
public sealed record ReplayResult(int Replayed);

/// <summary>
/// Webhook subscriptions and their deliveries, for admin clients (<c>Clients:&lt;name&gt;:Admin</c>):
/// create, list, get, delete, list deliveries with every attempt, replay one delivery or all of a
/// subscription's dead letters.
/// </summary>
public static class SubscriptionsApi
{
    /// <summary>Longest page of deliveries.</summary>
    public const int MaxDeliveriesPerPage = 500;

    /// <summary>Maps <c>/subscriptions</c> and <c>/deliveries</c>.</summary>
    public static IEndpointRouteBuilder MapSubscriptionsApi(this IEndpointRouteBuilder endpoints)
    {
        var subscriptions = endpoints.MapGroup("/subscriptions")
            .WithTags("Subscriptions")
            .RequireAuthorization(ClientsSetup.AdminPolicy)
            .RequireRateLimiting(ClientsSetup.PerClientRateLimit)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        subscriptions.MapPost("", CreateAsync)
            .WithName("CreateSubscription")
            .WithSummary("Subscribe a URL to events")
            .WithDescription("The answer shows the signing secret (`whsec_...`) once; deliveries are signed with it by the Standard Webhooks scheme.")
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WithValidation<CreateSubscriptionRequest>();

        subscriptions.MapGet("", async (SubscriptionStore store) => TypedResults.Ok((await store.ListAsync()).Select(s => s.ToView())))
            .WithName("ListSubscriptions")
            .WithSummary("List subscriptions");

        subscriptions.MapGet("/{id}", async Task<IResult> (string id, SubscriptionStore store) =>
                await store.GetAsync(id) is { } subscription ? TypedResults.Ok(subscription.ToView()) : NotFound(id))
            .WithName("GetSubscription")
            .WithSummary("Get a subscription")
            .Produces<SubscriptionView>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        subscriptions.MapDelete("/{id}", async Task<IResult> (string id, SubscriptionStore store) =>
                await store.DeleteAsync(id) ? TypedResults.NoContent() : NotFound(id))
            .WithName("DeleteSubscription")
            .WithSummary("Delete a subscription")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);

        subscriptions.MapGet("/{id}/deliveries", async Task<IResult> (string id, int? limit, SubscriptionStore store, Deliveries deliveries) =>
            {
                var page = Math.Clamp(limit ?? 50, 1, MaxDeliveriesPerPage);
                var list = await deliveries.ListAsync(id, page);
                return list.Count == 0 && await store.GetAsync(id) is null ? NotFound(id) : TypedResults.Ok(list);
            })
            .WithName("ListDeliveries")
            .WithSummary("List a subscription's deliveries, newest first, with every attempt")
            .Produces<IReadOnlyList<DeliveryView>>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        subscriptions.MapPost("/{id}/deliveries/replay", async Task<IResult> (string id, SubscriptionStore store, Deliveries deliveries) =>
                await store.GetAsync(id) is null ? NotFound(id) : TypedResults.Accepted((string?)null, new ReplayResult(await deliveries.ReplayDeadLettersAsync(id))))
            .WithName("ReplayDeadLetters")
            .WithSummary("Send every dead letter of a subscription again")
            .Produces<ReplayResult>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status404NotFound);

        endpoints.MapPost("/deliveries/{id}/replay", async Task<IResult> (string id, Deliveries deliveries) =>
                await deliveries.ReplayAsync(id) is { } delivery
                    ? TypedResults.Accepted((string?)null, delivery)
                    : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"There is no delivery '{id}' (deliveries are kept for Delivery:Retention)."))
            .WithTags("Subscriptions")
            .WithName("ReplayDelivery")
            .WithSummary("Send a delivery again, from the start of the retry schedule")
            .Produces<DeliveryView>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .RequireAuthorization(ClientsSetup.AdminPolicy)
            .RequireRateLimiting(ClientsSetup.PerClientRateLimit);
        return endpoints;
    }

    private static async Task<Created<CreatedSubscription>> CreateAsync(CreateSubscriptionRequest request, SubscriptionStore store)
    {
        var subscription = new Subscription(SubscriptionStore.NewId(), request.Url!, request.Filter ?? new SubscriptionFilter(),
            request.Description, DateTimeOffset.UtcNow, Enabled: true, DisabledReason: null, WebhookSecret.Generate());
        await store.CreateAsync(subscription);
        return TypedResults.Created($"/subscriptions/{subscription.Id}", new CreatedSubscription(subscription.Id, subscription.Url,
            subscription.Filter, subscription.Description, subscription.CreatedAt, subscription.Enabled, subscription.Secret));
    }

    private static IResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, detail: $"There is no subscription '{id}'.");
}

/// <summary>
/// A subscription needs a URL the gateway may deliver to (<see cref="WebhooksOptions.SubscriberUrlProblem"/>:
/// absolute http(s), at most 2083 characters, no user information, on a host and port of
/// <c>Webhooks:AllowedSubscriberHosts</c>), a description of at most 500 characters, and filter
/// lists of at most 50 non-empty values.
/// </summary>
public sealed class CreateSubscriptionRequestValidator : AbstractValidator<CreateSubscriptionRequest>
{
    /// <summary>Creates the validator.</summary>
    public CreateSubscriptionRequestValidator(IOptions<WebhooksOptions> webhooks)
    {
        RuleFor(r => r.Url).Cascade(CascadeMode.Stop).NotEmpty().WithMessage("'url' is required.").OverridePropertyName("url")
            .Custom((url, context) =>
            {
                if (webhooks.Value.SubscriberUrlProblem(url!) is { } problem)
                {
                    context.AddFailure("url", $"'url' {problem}.");
                }
            });
        RuleFor(r => r.Description).MaximumLength(500).OverridePropertyName("description");
        RuleFor(r => r.Filter).Must(filter => filter is null || new[] { filter.EndpointId, filter.ModelId, filter.Capability, filter.Status }
                .All(list => list is null || (list.Count <= 50 && list.All(v => !string.IsNullOrWhiteSpace(v)))))
            .WithMessage("Each 'filter' list may hold at most 50 non-empty values.")
            .OverridePropertyName("filter");
    }
}

/// <summary>Registers subscriptions.</summary>
public static class SubscriptionsSetup
{
    /// <summary>Registers the store and validator.</summary>
    public static WebApplicationBuilder AddSubscriptions(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<SubscriptionStore>();
        builder.Services.AddSingleton<IValidator<CreateSubscriptionRequest>, CreateSubscriptionRequestValidator>();
        return builder;
    }
}
