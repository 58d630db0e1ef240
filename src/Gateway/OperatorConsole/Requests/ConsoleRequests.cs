using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FluentValidation;
using Microsoft.Extensions.Options;
using Reka.Gateway.Clients;
using Reka.Gateway.Inference;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Proxy;
using Reka.Gateway.Requests;

namespace Reka.Gateway.OperatorConsole.Requests;

/// <summary>One row of the requests page.</summary>
internal sealed record RequestRow(string RequestId, string Status, string? EndpointId, DateTimeOffset? CreatedAt, DateTimeOffset? CompletedAt, string? Owner);

/// <summary>A page of Reka's list as the signed-in client may see it.</summary>
/// <param name="Rows">The rows shown.</param>
/// <param name="Hidden">Rows of Reka's page left out: other clients' requests (an ordinary client's view).</param>
/// <param name="NextOffset">Reka's offset of the next page, when there is one.</param>
/// <param name="Error">What went wrong instead, in words.</param>
internal sealed record RequestPage(IReadOnlyList<RequestRow> Rows, int Hidden, int? NextOffset, string? Error);

/// <summary>What the request page shows of one request.</summary>
internal sealed record RequestDetail(
    string RequestId,
    string? Owner,
    RequestRecord Record,
    JsonObject? Result,
    JsonObject? Status,
    bool ResultCached,
    bool StatusCached,
    TimeSpan? RecordTtl,
    string? Error)
{
    public string StatusText => Status?["status"]?.GetValue<string>() ?? Result?["status"]?.GetValue<string>() ?? "UNKNOWN";
}

/// <summary>
/// Reka's list, status and result for the console, by the same paths and rules as the API: the
/// team key on the gateway's own upstream connection (<see cref="UpstreamClient"/>), the list's
/// query checked by the API's validator, other clients' requests left out for an ordinary client
/// (<see cref="ResultCache.MayAccess"/>, the owners from the request records), terminal answers
/// read from the cache before Reka is asked.
/// </summary>
internal sealed class ConsoleRequests(UpstreamClient upstream, RequestRecords records, RedisStore redis, IOptions<ProxyOptions> proxy,
    IOptions<CacheOptions> cache, IValidator<ListInferenceQuery> listValidator)
{
    /// <summary>The problems of a list query, by field (empty when it is good).</summary>
    public IDictionary<string, string[]> Check(ListInferenceQuery query) => listValidator.Validate(query).ToDictionary();

    /// <summary>A page of Reka's list, newest first, for <paramref name="client"/>.</summary>
    /// <exception cref="StackExchange.Redis.RedisException">Redis failed: ownership is unknown, nothing is shown.</exception>
    public async Task<RequestPage> ListAsync(GatewayClient client, ListInferenceQuery query, CancellationToken cancellationToken)
    {
        var parameters = new List<KeyValuePair<string, string?>>
        {
            new("status", query.Status), new("endpoint_id", query.EndpointId), new("model_id", query.ModelId), new("capability", query.Capability),
            new("start", query.Start), new("end", query.End), new("limit", query.Limit), new("offset", query.Offset),
        };
        var path = "/v2/inference/requests" + QueryString.Create(parameters.Where(p => !string.IsNullOrEmpty(p.Value)));
        var (answer, error) = await GetAsync(path, ProxyRouteNames.List, cancellationToken);
        if (answer is null)
        {
            return new RequestPage([], 0, null, error);
        }
        var items = answer["items"] as JsonArray ?? [];
        var rows = items.OfType<JsonObject>().Select(item => new RequestRow(
            Text(item, "request_id") ?? "", Text(item, "status") ?? "UNKNOWN", Text(item, "endpoint_id"),
            Time(item, "created_at"), Time(item, "completed_at"), null)).Where(r => RequestIds.IsValid(r.RequestId)).ToList();
        var owners = await records.OwnersAsync([.. rows.Select(r => r.RequestId)]);
        var visible = rows.Select((row, i) => row with { Owner = owners[i] }).Where(row => ResultCache.MayAccess(client, row.Owner)).ToList();
        var next = answer["has_more"]?.GetValueKind() == JsonValueKind.True && answer["next_offset"] is JsonValue offset && offset.TryGetValue(out int n) ? n : (int?)null;
        return new RequestPage(visible, rows.Count - visible.Count, next, null);
    }

    /// <summary>One request for <paramref name="client"/>; null when it may not see it (another client's, or no record and not an admin).</summary>
    /// <exception cref="StackExchange.Redis.RedisException">Redis failed.</exception>
    public async Task<RequestDetail?> DetailAsync(GatewayClient client, string requestId, CancellationToken cancellationToken)
    {
        if (!RequestIds.IsValid(requestId))
        {
            return null;
        }
        var (owner, cachedResult) = await records.LookupAsync(requestId, RequestRecords.Answers.Result);
        if (!ResultCache.MayAccess(client, owner))
        {
            return null;
        }
        var (_, cachedStatus) = await records.LookupAsync(requestId, RequestRecords.Answers.StatusWithLogs);
        var record = await records.GetAsync(requestId);
        var ttl = await redis.Database.KeyTimeToLiveAsync(records.RequestKey(requestId));

        var errors = new List<string>();
        var result = Parse(cachedResult);
        var status = Parse(cachedStatus);
        var fetches = new List<Task>();
        if (result is null)
        {
            fetches.Add(Fetch($"/v2/inference/requests/{requestId}", ProxyRouteNames.Result, node => result = node));
        }
        if (status is null)
        {
            fetches.Add(Fetch($"/v2/inference/requests/{requestId}/status?with_logs=true", ProxyRouteNames.Status, node => status = node));
        }
        await Task.WhenAll(fetches);
        return new RequestDetail(requestId, owner, record, result, status, cachedResult is not null, cachedStatus is not null, ttl,
            errors.Count == 0 ? null : string.Join(" ", errors.Distinct()));

        async Task Fetch(string path, string route, Action<JsonObject> found)
        {
            var (answer, error) = await GetAsync(path, route, cancellationToken);
            if (answer is not null)
            {
                found(answer);
            }
            else
            {
                lock (errors)
                {
                    errors.Add(error!);
                }
            }
        }
    }

    /// <summary>Whether <paramref name="status"/> never changes (<c>Cache:TerminalStatuses</c>).</summary>
    public bool IsTerminal(string? status) => cache.Value.IsTerminal(status);

    private async Task<(JsonObject? Answer, string? Error)> GetAsync(string path, string route, CancellationToken cancellationToken)
    {
        UpstreamAnswer answer;
        try
        {
            answer = await upstream.GetAsync(path, proxy.Value.For(route).Timeout, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            return (null, $"Reka could not be reached: {e.Message}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"Reka did not answer within the '{route}' route's timeout.");
        }
        if (!answer.IsSuccess)
        {
            return (null, $"Reka answered {answer.Status}: {Describe(answer.Body)}");
        }
        try
        {
            var node = JsonNode.Parse(answer.Body) as JsonObject;
            return node is null ? (null, "Reka's answer is not a JSON object.") : (node, null);
        }
        catch (JsonException)
        {
            return (null, "Reka's answer is not JSON.");
        }
    }

    // Reka's error body names what is wrong in "detail" (or "message"); otherwise its first characters.
    private static string Describe(byte[] body)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject error)
            {
                foreach (var field in (string[])["detail", "message", "error"])
                {
                    if (error[field] is JsonValue value && value.TryGetValue(out string? text))
                    {
                        return text;
                    }
                }
            }
        }
        catch (JsonException)
        {
        }
        var raw = Encoding.UTF8.GetString(body);
        return raw.Length > 200 ? raw[..200] + "…" : raw;
    }

    private static JsonObject? Parse(byte[]? json)
    {
        if (json is null)
        {
            return null;
        }
        try
        {
            return JsonNode.Parse(json) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A string property of <paramref name="item"/>, or null.</summary>
    public static string? Text(JsonObject? item, string name) => item?[name] is JsonValue value && value.TryGetValue(out string? text) ? text : null;

    /// <summary>A date-time property of <paramref name="item"/>, or null.</summary>
    public static DateTimeOffset? Time(JsonObject? item, string name) =>
        Text(item, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
}
