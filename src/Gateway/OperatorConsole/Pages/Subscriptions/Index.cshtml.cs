using FluentValidation;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Reka.Gateway.Subscriptions;

namespace Reka.Gateway.OperatorConsole.Pages.Subscriptions;

/// <summary>The create form's fields.</summary>
internal sealed class SubscriptionForm
{
    public string? Url { get; set; }
    public string? Description { get; set; }
    public List<string> Statuses { get; set; } = [];
    public string? Endpoints { get; set; }
    public string? Models { get; set; }
    public string? Capabilities { get; set; }
}

/// <summary>
/// Subscriptions (admin clients): list and filter, create (the secret shown this once), enable,
/// disable, delete; each through the API's own handlers and validator.
/// </summary>
internal sealed class SubscriptionsModel(SubscriptionStore store, IValidator<CreateSubscriptionRequest> validator, TimeProvider time,
    ILogger<SubscriptionStore> logger) : ConsolePage
{
    /// <summary>The statuses a filter can name (the event types' statuses).</summary>
    public static readonly string[] FilterStatuses = ["COMPLETED", "FAILED", "CANCELLED"];

    public override string Title => "Subscriptions";

    [BindProperty(SupportsGet = true, Name = "q")] public string? Search { get; set; }
    [BindProperty(SupportsGet = true, Name = "state")] public string? State { get; set; }
    [BindProperty(SupportsGet = true, Name = "done")] public string? DoneCode { get; set; }

    public SubscriptionForm Form { get; private set; } = new();

    public CreatedSubscription? Created { get; private set; }

    public IReadOnlyList<SubscriptionView> Shown { get; private set; } = [];

    public int Total { get; private set; }

    private IDictionary<string, string[]> _errors = new Dictionary<string, string[]>();

    /// <summary>The error of form field <paramref name="field"/>, if any.</summary>
    public string? FieldError(string field) => _errors.TryGetValue(field, out var messages) ? string.Join(" ", messages) : null;

    public async Task OnGetAsync()
    {
        Notice = DoneCode switch
        {
            "enabled" => "Subscription enabled: new events are delivered to it again. Events of the time it was disabled are not; the deliveries it had pending then can each be replayed from its page.",
            "disabled" => "Subscription disabled: it gets no new deliveries, and its pending ones end as disabled.",
            "deleted" => "Subscription deleted.",
            _ => null,
        };
        await LoadAsync();
    }

    public async Task<IActionResult> OnPostCreateAsync([FromForm] SubscriptionForm form)
    {
        Form = form;
        if (!FormBound("The subscription was not created."))
        {
            await LoadAsync();
            return Page();
        }
        static List<string>? Split(string? text) =>
            text?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } values ? [.. values] : null;
        var request = new CreateSubscriptionRequest(form.Url?.Trim(),
            new SubscriptionFilter(Split(form.Endpoints), Split(form.Models), Split(form.Capabilities), form.Statuses.Count > 0 ? form.Statuses : null),
            string.IsNullOrWhiteSpace(form.Description) ? null : form.Description.Trim());
        var validation = await validator.ValidateAsync(request);
        if (!validation.IsValid)
        {
            _errors = validation.ToDictionary();
            Response.StatusCode = StatusCodes.Status400BadRequest;
            Problem = "The subscription was not created: " + string.Join(" ", validation.Errors.Select(e => e.ErrorMessage));
        }
        // A new random id: never one of a deleted subscription, so a subscription is stored.
        else if (await TryAsync(async () => Created = (await SubscriptionsApi.CreateWithIdAsync(request, SubscriptionStore.NewId(), store, time)).Stored!.ToCreated(), "The subscription was not created."))
        {
            Form = new SubscriptionForm();
        }
        await LoadAsync();
        return Page();
    }

    public Task<IActionResult> OnPostEnableAsync([BindRequired] string id) => SetEnabledAsync(id, true);

    public Task<IActionResult> OnPostDisableAsync([BindRequired] string id) => SetEnabledAsync(id, false);

    public async Task<IActionResult> OnPostDeleteAsync([BindRequired] string id)
    {
        if (!FormBound("The subscription was not deleted."))
        {
            await LoadAsync();
            return Page();
        }
        var deleted = false;
        if (await TryAsync(async () => deleted = await store.DeleteAsync(id), "The subscription was not deleted.") && deleted)
        {
            return Done("deleted");
        }
        if (Problem is null)
        {
            Response.StatusCode = StatusCodes.Status404NotFound;
            Problem = $"There is no subscription '{id}'.";
        }
        await LoadAsync();
        return Page();
    }

    private async Task<IActionResult> SetEnabledAsync(string id, bool enabled)
    {
        if (!FormBound($"The subscription was not {(enabled ? "enabled" : "disabled")}."))
        {
            await LoadAsync();
            return Page();
        }
        IResult? result = null;
        if (await TryAsync(async () => result = await SubscriptionsApi.PatchAsync(id, new UpdateSubscriptionRequest(enabled), HttpContext, store, time, logger),
                $"The subscription was not {(enabled ? "enabled" : "disabled")}."))
        {
            if (result is Ok<SubscriptionView>)
            {
                return Done(enabled ? "enabled" : "disabled");
            }
            Response.StatusCode = StatusCodes.Status404NotFound;
            Problem = (result as ProblemHttpResult)?.ProblemDetails.Detail ?? $"There is no subscription '{id}'.";
        }
        await LoadAsync();
        return Page();
    }

    private Task LoadAsync() => TryAsync(async () =>
    {
        var all = (await store.ListAsync()).Select(s => s.ToView()).ToList();
        Total = all.Count;
        Shown = [.. all.Where(s => State switch
            {
                "enabled" => s.Enabled,
                "disabled" => !s.Enabled,
                _ => true,
            })
            .Where(s => string.IsNullOrWhiteSpace(Search) || new[] { s.Id, s.Url, s.Description ?? "" }.Any(text => text.Contains(Search.Trim(), StringComparison.OrdinalIgnoreCase)))
            .OrderByDescending(s => s.CreatedAt)];
    }, "The subscriptions could not be read.");

    /// <summary>A filter in words.</summary>
    public static string Describe(SubscriptionFilter filter)
    {
        var parts = new List<string>();
        void Add(string name, IReadOnlyList<string>? values)
        {
            if (values is { Count: > 0 })
            {
                parts.Add($"{name}: {string.Join(", ", values)}");
            }
        }
        Add("status", filter.Status);
        Add("endpoint", filter.EndpointId);
        Add("model", filter.ModelId);
        Add("capability", filter.Capability);
        return parts.Count == 0 ? "every event" : string.Join("; ", parts);
    }
}
