using System.Text.Json;
using Reka.Simulator.Api;

namespace Reka.Simulator.Search;

/// <summary><c>POST /v2/search</c> body; other fields are ignored.</summary>
public sealed class SearchRequest
{
    public string? Query { get; set; }
}

/// <summary>A canned search answer that echoes the query.</summary>
public sealed record SearchResponse(string Query, IReadOnlyList<SearchHit> Results);

/// <summary>One canned hit; times in seconds from the start of the video.</summary>
public sealed record SearchHit(string VideoId, double StartTimestamp, double EndTimestamp, double Score, string Caption);

/// <summary>Video search, answered with a fixed hit so that forwarding can be tested end to end.</summary>
public static class SearchEndpoints
{
    /// <summary>Maps <c>POST /v2/search</c>.</summary>
    public static IEndpointRouteBuilder MapSearchEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v2/search", Search);
        return routes;
    }

    private static async Task<IResult> Search(HttpRequest request, CancellationToken cancellationToken)
    {
        SearchRequest? search;
        try
        {
            search = await JsonSerializer.DeserializeAsync(request.Body, SimulatorJsonContext.Default.SearchRequest, cancellationToken);
        }
        catch (JsonException)
        {
            return ApiErrors.Validation("The body must be a JSON object with a query.", "query");
        }
        if (string.IsNullOrWhiteSpace(search?.Query)) return ApiErrors.Validation("query is required.", "query");

        var hit = new SearchHit("00000000-0000-4000-8000-000000000000", 0, 5, 0.99, $"Simulated match for: {search.Query}");
        return TypedResults.Json(new SearchResponse(search.Query, [hit]), SimulatorJsonContext.Default.SearchResponse);
    }
}
