using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Reka.Gateway.Delivery;
using Reka.Gateway.Subscriptions;

namespace Reka.Gateway.OperatorConsole.Pages.Subscriptions;

/// <summary>
/// A subscription and its deliveries, each attempt with its time, status, duration and the start
/// of the subscriber's answer; dead letters apart; replay one delivery or every dead letter, and
/// watch the new attempts appear (the deliveries refresh themselves while the page is open).
/// </summary>
internal sealed class SubscriptionDetailModel(SubscriptionStore store, Deliveries deliveries, TimeProvider time, ILogger<SubscriptionStore> logger) : ConsolePage
{
    /// <summary>Deliveries read for a page: the API's longest page.</summary>
    public const int PageSize = DeliveriesApi.MaxDeliveriesPerPage;

    public override string Title => $"Subscription {Id}";

    [BindProperty(SupportsGet = true)] public string Id { get; set; } = "";
    [BindProperty(SupportsGet = true, Name = "view")] public string? View { get; set; }
    [BindProperty(SupportsGet = true, Name = "done")] public string? DoneCode { get; set; }

    public bool DeadOnly => View == "dead";

    public SubscriptionView? Subscription { get; private set; }

    public IReadOnlyList<DeliveryView> Deliveries { get; private set; } = [];

    public int Scanned { get; private set; }

    public async Task<IActionResult> OnGetAsync()
    {
        Notice = DoneCode switch
        {
            "replayed" => "Delivery sent again from the start of its retry schedule: its new attempts appear below.",
            "enabled" => "Subscription enabled.",
            "disabled" => "Subscription disabled.",
            { } code when code.StartsWith("replayed-", StringComparison.Ordinal) => $"{code["replayed-".Length..]} dead letters sent again: their new attempts appear below.",
            _ => null,
        };
        return await LoadAsync();
    }

    public async Task<IActionResult> OnPostReplayAsync([BindRequired] string delivery)
    {
        if (!FormBound("The delivery was not replayed."))
        {
            return await LoadAsync();
        }
        DeliveryView? replayed = null;
        if (await TryAsync(async () => replayed = await deliveries.ReplayAsync(delivery), "The delivery was not replayed."))
        {
            if (replayed is not null && replayed.SubscriptionId == Id)
            {
                return Done("replayed", new { view = View });
            }
            Response.StatusCode = StatusCodes.Status404NotFound;
            Problem = $"There is no delivery '{delivery}' of this subscription (deliveries are kept for Delivery:Retention).";
        }
        return await LoadAsync();
    }

    public async Task<IActionResult> OnPostReplayDeadAsync()
    {
        var count = 0;
        if (await TryAsync(async () =>
            {
                if (await store.GetAsync(Id) is not null)
                {
                    count = await deliveries.ReplayDeadLettersAsync(Id);
                }
            }, "The dead letters were not replayed (those found before Redis failed were)."))
        {
            return Done($"replayed-{count}", new { view = View });
        }
        return await LoadAsync();
    }

    public Task<IActionResult> OnPostEnableAsync() => SetEnabledAsync(true);

    public Task<IActionResult> OnPostDisableAsync() => SetEnabledAsync(false);

    private async Task<IActionResult> SetEnabledAsync(bool enabled)
    {
        IResult? result = null;
        if (await TryAsync(async () => result = await SubscriptionsApi.PatchAsync(Id, new UpdateSubscriptionRequest(enabled), HttpContext, store, time, logger),
                $"The subscription was not {(enabled ? "enabled" : "disabled")}.") && result is Ok<SubscriptionView>)
        {
            return Done(enabled ? "enabled" : "disabled", new { view = View });
        }
        return await LoadAsync();
    }

    private async Task<IActionResult> LoadAsync()
    {
        Subscription? found = null;
        var read = await TryAsync(async () =>
        {
            found = await store.GetAsync(Id);
            if (found is not null)
            {
                var list = await deliveries.ListAsync(Id, PageSize);
                Scanned = list.Count;
                Deliveries = DeadOnly ? [.. list.Where(d => d.Status == DeliveryStatus.Dead)] : [.. list.Take(50)];
            }
        }, "The subscription could not be read.");
        if (read && found is null)
        {
            return NotFoundPage($"There is no subscription '{Id}'.");
        }
        Subscription = found?.ToView();
        return Page();
    }
}
