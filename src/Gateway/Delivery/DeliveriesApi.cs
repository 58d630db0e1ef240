using Reka.Gateway.Clients;
using Reka.Gateway.Subscriptions;

namespace Reka.Gateway.Delivery;

/// <summary>Answer of a bulk replay.</summary>
/// <param name="Replayed">Dead letters sent again.</param>
public sealed record ReplayResult(int Replayed);

/// <summary>
/// A subscription's deliveries, for admin clients: list them with every attempt, replay one
/// delivery or all of a subscription's dead letters.
/// </summary>
internal static class DeliveriesApi
{
    /// <summary>Longest page of deliveries.</summary>
    public const int MaxDeliveriesPerPage = 500;

    /// <summary>Maps <c>{subscriptions}/{id}/deliveries</c> and <c>/deliveries/{id}/replay</c>.</summary>
    public static IEndpointRouteBuilder MapDeliveriesApi(this IEndpointRouteBuilder endpoints, RouteGroupBuilder subscriptions)
    {
        subscriptions.MapGet("/{id}/deliveries", async Task<IResult> (string id, int? limit, SubscriptionStore store, Deliveries deliveries) =>
            {
                var page = Math.Clamp(limit ?? 50, 1, MaxDeliveriesPerPage);
                var list = await deliveries.ListAsync(id, page);
                return list.Count == 0 && await store.GetAsync(id) is null ? SubscriptionsApi.NotFound(id) : TypedResults.Ok(list);
            })
            .WithName("ListDeliveries")
            .WithSummary("List a subscription's deliveries, newest first, with every attempt")
            .Produces<IReadOnlyList<DeliveryView>>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        subscriptions.MapPost("/{id}/deliveries/replay", async Task<IResult> (string id, SubscriptionStore store, Deliveries deliveries) =>
                await store.GetAsync(id) is null ? SubscriptionsApi.NotFound(id) : TypedResults.Accepted((string?)null, new ReplayResult(await deliveries.ReplayDeadLettersAsync(id))))
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
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .RequireAuthorization(ClientsSetup.AdminPolicy)
            .RequireRateLimiting(ClientsSetup.PerClientRateLimit);
        return endpoints;
    }
}
