using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Reka.Gateway.Inference;
using Reka.Gateway.OperatorConsole.Requests;

namespace Reka.Gateway.OperatorConsole.Pages.Requests;

/// <summary>
/// Reka's list with its filters and paging, newest first, for the signed-in client (an ordinary
/// client sees its own requests only); statuses update live from <c>/console/live</c>.
/// </summary>
internal sealed class RequestsModel(ConsoleRequests requests) : ConsolePage
{
    /// <summary>The statuses Reka's requests go through (the simulator's; Reka does not publish them).</summary>
    public static readonly string[] Statuses = ["IN_QUEUE", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED"];

    public override string Title => "Requests";

    [BindProperty(SupportsGet = true, Name = "status")] public string? Status { get; set; }
    [BindProperty(SupportsGet = true, Name = "endpoint_id")] public string? EndpointId { get; set; }
    [BindProperty(SupportsGet = true, Name = "model_id")] public string? ModelId { get; set; }
    [BindProperty(SupportsGet = true, Name = "capability")] public string? Capability { get; set; }
    [BindProperty(SupportsGet = true, Name = "start")] public string? Start { get; set; }
    [BindProperty(SupportsGet = true, Name = "end")] public string? End { get; set; }
    [BindProperty(SupportsGet = true, Name = "limit")] public string? LimitText { get; set; }
    [BindProperty(SupportsGet = true, Name = "offset")] public string? OffsetText { get; set; }

    /// <summary>The query as the API's list takes it (empty fields left out).</summary>
    public ListInferenceQuery Query { get; private set; } = new();

    /// <summary>The page of Reka's list shown.</summary>
    public RequestPage? Listing { get; private set; }

    public int Limit => int.TryParse(Query.Limit, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 25;

    public int Offset => int.TryParse(Query.Offset, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        static string? Given(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
        Query = new ListInferenceQuery
        {
            Status = Given(Status), EndpointId = Given(EndpointId), ModelId = Given(ModelId), Capability = Given(Capability),
            Start = Given(Start), End = Given(End), Limit = Given(LimitText), Offset = Given(OffsetText),
        };
        // The API's own validator: the same filters are refused for the same reasons.
        var errors = requests.Check(Query);
        if (errors.Count > 0)
        {
            Response.StatusCode = StatusCodes.Status400BadRequest;
            Problem = "The filters were not applied: " + string.Join(" ", errors.SelectMany(e => e.Value));
            return Page();
        }
        await TryAsync(async () => Listing = await requests.ListAsync(Client!, Query, cancellationToken),
            "The list was not shown: which requests are this client's could not be checked.");
        if (Listing?.Error is { } error)
        {
            Response.StatusCode = StatusCodes.Status502BadGateway;
            Problem = error;
        }
        return Page();
    }

    /// <summary>This page's URL at another offset, the filters kept.</summary>
    public string PageUrl(int offset)
    {
        var query = Request.Query.Where(q => q.Key != "offset").Select(q => new KeyValuePair<string, string?>(q.Key, q.Value.ToString())).ToList();
        query.Add(new("offset", offset.ToString(CultureInfo.InvariantCulture)));
        return Request.Path + QueryString.Create(query);
    }
}
