using FluentValidation;
using Microsoft.AspNetCore.Mvc;
using Reka.Gateway.Clients;

namespace Reka.Gateway.OperatorConsole.Pages.Clients;

/// <summary>The add-a-client form's fields.</summary>
internal sealed class ClientForm
{
    public string? Name { get; set; }
    public string? Description { get; set; }
    public bool Admin { get; set; }
    public int? PermitLimit { get; set; }
    public int? WindowSeconds { get; set; }
    public int? MaxInFlight { get; set; }
    public int? DailySubmits { get; set; }
    public string? AllowedEndpoints { get; set; }
}

/// <summary>Clients (admin clients): every client, and a form to add one (its key and webhook secret shown once), through the API's handler and validator.</summary>
internal sealed class ClientsModel(ClientStore store, ClientRegistry registry, IValidator<CreateClientRequest> validator, TimeProvider time) : ConsolePage
{
    public override string Title => "Clients";

    public IReadOnlyList<ClientView> Clients { get; private set; } = [];

    public ClientForm Form { get; private set; } = new();

    public CreatedClient? Created { get; private set; }

    public Task OnGetAsync() => LoadAsync();

    public async Task<IActionResult> OnPostCreateAsync([FromForm] ClientForm form)
    {
        Form = form;
        if (!FormBound("The client was not added."))
        {
            await LoadAsync();
            return Page();
        }
        var endpoints = form.AllowedEndpoints?.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        var request = new CreateClientRequest(form.Name?.Trim(), form.Admin,
            form.PermitLimit is null && form.WindowSeconds is null ? null : new RateLimitOptions { PermitLimit = form.PermitLimit ?? 0, WindowSeconds = form.WindowSeconds ?? 0 },
            endpoints is { Count: > 0 } ? endpoints : null,
            form.MaxInFlight is null && form.DailySubmits is null ? null : new QuotaOptions { MaxInFlight = form.MaxInFlight, DailySubmits = form.DailySubmits },
            string.IsNullOrWhiteSpace(form.Description) ? null : form.Description.Trim());
        var validation = await validator.ValidateAsync(request);
        if (!validation.IsValid)
        {
            Response.StatusCode = StatusCodes.Status400BadRequest;
            Problem = "The client was not added: " + string.Join(" ", validation.Errors.Select(e => e.ErrorMessage));
        }
        else
        {
            IResult? result = null;
            if (await TryAsync(async () => result = await ClientsApi.CreateAsync(request, HttpContext, store, registry, time), "The client was not added."))
            {
                Created = ConsoleResults.Value<CreatedClient>(result!);
                if (Created is null)
                {
                    Response.StatusCode = ConsoleResults.Status(result!);
                    Problem = ConsoleResults.Problem(result!);
                }
                else
                {
                    Form = new ClientForm();
                }
            }
        }
        await LoadAsync();
        return Page();
    }

    private Task LoadAsync() => TryAsync(async () =>
        Clients = ConsoleResults.Value<IReadOnlyList<ClientView>>(await ClientsApi.ListAsync(HttpContext, store, registry)) ?? [], "The clients could not be read.");

    /// <summary>A rate limit in words.</summary>
    public static string Limit(RateLimitOptions? limit) => limit is null ? "default" : $"{limit.PermitLimit} per {limit.WindowSeconds} s";

    /// <summary>Quotas in words.</summary>
    public static string Quotas(QuotaOptions? quotas) => quotas is null ? "none"
        : string.Join(", ", new[] { quotas.MaxInFlight is { } m ? $"{m} in flight" : null, quotas.DailySubmits is { } d ? $"{d} a day" : null }.OfType<string>().DefaultIfEmpty("none"));
}
