using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Usage;

namespace Reka.Gateway.OperatorConsole.Pages.Clients;

/// <summary>
/// One client: for an admin, its keys (issue, shown once; revoke), quotas and deletion, each
/// through the API's handlers (same rules, audit and confirmation); for the client itself and for
/// admins, its usage per UTC day as charts (submits by endpoint, video seconds, outcomes) and CSV.
/// </summary>
internal sealed class ClientDetailModel(ClientStore store, ClientRegistry registry, UsageKeys usageKeys, RedisStore redis, TimeProvider time) : ConsolePage
{
    public override string Title => $"Client {Name}";

    [BindProperty(SupportsGet = true)] public string Name { get; set; } = "";
    [BindProperty(SupportsGet = true, Name = "from")] public string? From { get; set; }
    [BindProperty(SupportsGet = true, Name = "to")] public string? To { get; set; }
    [BindProperty(SupportsGet = true, Name = "done")] public string? DoneCode { get; set; }

    public ClientView? View { get; private set; }

    public IssuedKey? IssuedKey { get; private set; }

    public UsageReport? Usage { get; private set; }

    public string UsageJson { get; private set; } = "{}";

    public string FromText { get; private set; } = "";

    public string ToText { get; private set; } = "";

    public async Task<IActionResult> OnGetAsync()
    {
        Notice = DoneCode switch
        {
            "revoked" => "Key revoked: it is refused on every replica within moments.",
            "quotas" => "Quotas saved.",
            _ => null,
        };
        return await LoadAsync();
    }

    public async Task<IActionResult> OnGetCsvAsync()
    {
        if (await ReadAsync() is { } denied)
        {
            return denied;
        }
        return Usage is null ? Page()
            : File(System.Text.Encoding.UTF8.GetBytes(UsageApi.Csv(Usage.Days)), "text/csv; charset=utf-8", $"usage-{Name}-{FromText}-{ToText}.csv");
    }

    public async Task<IActionResult> OnPostIssueAsync([FromForm] DateTime? expiresAt)
    {
        if (!FormBound("No key was issued."))
        {
            return await LoadAsync();
        }
        IResult? result = null;
        var expires = expiresAt is { } at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : (DateTimeOffset?)null;
        if (await TryAsync(async () => result = await ClientsApi.IssueKeyAsync(Name, new CreateKeyRequest(expires), HttpContext, store, registry, time), "No key was issued."))
        {
            IssuedKey = ConsoleResults.Value<IssuedKey>(result!);
            if (IssuedKey is null)
            {
                Response.StatusCode = ConsoleResults.Status(result!);
                Problem = ConsoleResults.Problem(result!);
            }
        }
        return await LoadAsync();
    }

    public async Task<IActionResult> OnPostRevokeAsync([BindRequired] string keyId)
    {
        if (!FormBound("The key was not revoked."))
        {
            return await LoadAsync();
        }
        IResult? result = null;
        if (await TryAsync(async () => result = await ClientsApi.RevokeKeyAsync(Name, keyId, HttpContext, store, registry, time), "The key was not revoked."))
        {
            if (ConsoleResults.Problem(result!) is not { } problem)
            {
                return Done("revoked");
            }
            Response.StatusCode = ConsoleResults.Status(result!);
            Problem = problem;
        }
        return await LoadAsync();
    }

    public async Task<IActionResult> OnPostQuotasAsync([FromForm] int? maxInFlight, [FromForm] int? dailySubmits)
    {
        if (!FormBound("The quotas were not saved."))
        {
            return await LoadAsync();
        }
        // A merge patch, as the API takes it: no quota at all removes the field.
        var quotas = maxInFlight is null && dailySubmits is null ? null : new QuotaOptions { MaxInFlight = maxInFlight, DailySubmits = dailySubmits };
        var patch = JsonSerializer.SerializeToElement(new Dictionary<string, object?> { ["quotas"] = quotas }, GatewayJson.Options);
        IResult? result = null;
        if (await TryAsync(async () => result = await ClientsApi.PatchAsync(Name, patch, HttpContext, store, registry, time), "The quotas were not saved."))
        {
            if (ConsoleResults.Problem(result!) is not { } problem)
            {
                return Done("quotas");
            }
            Response.StatusCode = ConsoleResults.Status(result!);
            Problem = problem;
        }
        return await LoadAsync();
    }

    public async Task<IActionResult> OnPostDeleteAsync()
    {
        IResult? result = null;
        if (await TryAsync(async () => result = await ClientsApi.DeleteAsync(Name, HttpContext, store, registry), "The client was not deleted."))
        {
            if (ConsoleResults.Problem(result!) is not { } problem)
            {
                return Redirect("/console/clients");
            }
            Response.StatusCode = ConsoleResults.Status(result!);
            Problem = problem;
        }
        return await LoadAsync();
    }

    private async Task<IActionResult> LoadAsync() => await ReadAsync() ?? Page();

    // The client (the API's own check: an admin, or the client itself) and its usage; a redirect
    // to the forbidden page for another client's.
    private async Task<IActionResult?> ReadAsync()
    {
        IResult? result = null;
        if (!await TryAsync(async () => result = await ClientsApi.GetAsync(Name, HttpContext, store, registry), "The client could not be read."))
        {
            return null;
        }
        if (ConsoleResults.Status(result!) == StatusCodes.Status403Forbidden)
        {
            return Redirect("/console/forbidden?path=" + Uri.EscapeDataString(Request.Path));
        }
        View = ConsoleResults.Value<ClientView>(result!);
        if (View is null)
        {
            return NotFoundPage(ConsoleResults.Problem(result!) ?? $"There is no client '{Name}'.");
        }
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var last = Day(To) ?? today;
        var first = Day(From) ?? last.AddDays(-29);
        if (first > last || last.DayNumber - first.DayNumber >= UsageApi.MaxDays)
        {
            Problem = $"The period must start on or before its end, at most {UsageApi.MaxDays} days before it; the last 30 days are shown.";
            (first, last) = (today.AddDays(-29), today);
        }
        (FromText, ToText) = (first.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), last.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        await TryAsync(async () => Usage = await UsageApi.ReadReportAsync(View.Name, first, last, usageKeys, redis), "The usage could not be read.");
        if (Usage is not null)
        {
            // Escapes <, > and & (the default encoder): safe inside the page's JSON data block.
            UsageJson = JsonSerializer.Serialize(Usage, GatewayJson.Options);
        }
        return null;
    }

    private static DateOnly? Day(string? text) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day : null;
}
