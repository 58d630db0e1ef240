using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Reka.Gateway.OperatorConsole.Requests;

namespace Reka.Gateway.OperatorConsole.Pages.Requests;

/// <summary>One step of a request's life, from its timestamps and its logs.</summary>
internal sealed record TimelineStep(DateTimeOffset At, string Text);

/// <summary>
/// One request: its input, status timeline and logs, metrics, cache state and result (a playing
/// video or a picture where it has one, with the URL's expiry). Another client's request is a 404,
/// as on the API. While it is not terminal, the page updates itself when its event arrives.
/// </summary>
internal sealed class RequestDetailModel(ConsoleRequests requests) : ConsolePage
{
    public override string Title => $"Request {Id}";

    [BindProperty(SupportsGet = true)]
    public string Id { get; set; } = "";

    public RequestDetail? Detail { get; private set; }

    public IReadOnlyList<ResultMedia> Media { get; private set; } = [];

    public IReadOnlyList<TimelineStep> Timeline { get; private set; } = [];

    public bool Terminal { get; private set; }

    public JsonSerializerOptions Indented { get; } = new() { WriteIndented = true };

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        RequestDetail? detail = null;
        if (!await TryAsync(async () => detail = await requests.DetailAsync(Client!, Id, cancellationToken), "The request was not shown: whose it is could not be checked."))
        {
            return Page();
        }
        if (detail is null)
        {
            return NotFoundPage($"There is no request '{Id}' among {Client!.Name}'s requests (records are kept for Cache:ResultTtl).");
        }
        Detail = detail;
        Terminal = requests.IsTerminal(detail.StatusText);
        Media = ResultMediaFinder.Find(detail.Result?["output"]);
        Timeline = BuildTimeline(detail);
        return Page();
    }

    private static List<TimelineStep> BuildTimeline(RequestDetail detail)
    {
        var steps = new List<TimelineStep>();
        if (detail.Status?["logs"] is JsonArray logs && logs.Count > 0)
        {
            foreach (var log in logs.OfType<JsonObject>())
            {
                if (ConsoleRequests.Time(log, "timestamp") is { } at)
                {
                    steps.Add(new TimelineStep(at, ConsoleRequests.Text(log, "message") ?? log.ToJsonString()));
                }
            }
        }
        else
        {
            foreach (var (field, text) in new[] { ("created_at", "Created"), ("started_at", "Started"), ("completed_at", "Ended") })
            {
                if (ConsoleRequests.Time(detail.Result, field) is { } at)
                {
                    steps.Add(new TimelineStep(at, text));
                }
            }
        }
        return [.. steps.OrderBy(s => s.At)];
    }
}
