using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;

namespace Reka.Gateway.Inference;

/// <summary>Marks a forwarded status or result call whose terminal answer should be cached.</summary>
/// <param name="RequestId">The request.</param>
/// <param name="Answer">The cache field (<see cref="RequestRecords.Answers"/>).</param>
/// <param name="Owner">The request's owner, when the gateway knows it.</param>
public sealed record CacheableAnswer(string RequestId, string Answer, string? Owner);

/// <summary>
/// Ownership and the result cache on the status, result and cancel routes. A request another
/// client submitted is answered 404; a terminal answer in Redis is served without calling
/// upstream (<c>X-Cache: HIT</c>); otherwise the call is forwarded (<c>X-Cache: MISS</c>) and a
/// terminal 200 answer is stored. Requests the gateway has no record of (submitted before it, or
/// directly to Reka) are forwarded as before. A terminal answer never changes, nor does a request's
/// owner, so each replica also keeps the answers it served in memory (bounded by
/// <c>Cache:MemoryLimitBytes</c>) and answers repeats without a Redis round trip.
/// </summary>
public sealed class ResultCache(RequestRecords records, IOptions<CacheOptions> options, GatewayMetrics metrics,
    IProblemDetailsService problemDetails, ILogger<ResultCache> logger) : IDisposable
{
    /// <summary>Header telling whether an answer came from the cache.</summary>
    public const string CacheHeader = "X-Cache";

    private readonly MemoryCache _memory = new(new MemoryCacheOptions { SizeLimit = options.Value.MemoryLimitBytes });

    private sealed record MemoryEntry(string? Owner, byte[] Body);

    /// <summary>
    /// Answers the call from the gateway when it can: 404 (another client's request), 503 (Redis
    /// unavailable, ownership unknown) or the cached answer <paramref name="answer"/> (null: only
    /// check ownership). Returns true when the response is written.
    /// </summary>
    public async Task<bool> TryAnswerAsync(HttpContext context, string requestId, string? answer)
    {
        string? owner;
        byte[]? cached;
        try
        {
            (owner, cached) = await LookupAsync(requestId, answer);
        }
        catch (RedisUnavailableException)
        {
            context.Response.Headers.RetryAfter = "5";
            await WriteProblemAsync(context, StatusCodes.Status503ServiceUnavailable,
                "Who owns this request cannot be checked while Redis is unavailable; retry shortly.");
            return true;
        }
        if (owner is not null && owner != context.GetClient().Name)
        {
            // 404, not 403: another client's request ids are not this client's business.
            await WriteProblemAsync(context, StatusCodes.Status404NotFound, $"There is no request '{requestId}' among this client's requests.");
            return true;
        }
        if (answer is null)
        {
            return false;
        }
        metrics.CacheLookup(cached is not null);
        if (cached is null)
        {
            context.Features.Set(new CacheableAnswer(requestId, answer, owner));
            return false;
        }
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        context.Response.Headers[CacheHeader] = "HIT";
        context.Response.ContentLength = cached.Length;
        await context.Response.Body.WriteAsync(cached, context.RequestAborted);
        return true;
    }

    /// <summary>
    /// Response observer of the status and result routes: stores a 200 answer whose
    /// <c>status</c> is terminal (<c>Cache:TerminalStatuses</c>). A Redis failure costs only the caching.
    /// </summary>
    public async ValueTask StoreIfTerminalAsync(HttpContext context, HttpResponseMessage response, ReadOnlyMemory<byte> body)
    {
        if (context.Features.Get<CacheableAnswer>() is not { } target || response.StatusCode != System.Net.HttpStatusCode.OK
            || !options.Value.IsTerminal(InferenceJson.ReadTopLevelString(body.Span, "status")))
        {
            return;
        }
        try
        {
            await records.StoreAnswerAsync(target.RequestId, target.Answer, body);
            Remember(target.RequestId, target.Answer, target.Owner, body.ToArray());
        }
        catch (RedisUnavailableException e)
        {
            GatewayLog.CacheStoreFailed(logger, target.RequestId, e.InnerException?.GetType().Name);
        }
    }

    private async ValueTask<(string? Owner, byte[]? Answer)> LookupAsync(string requestId, string? answer)
    {
        if (answer is not null && _memory.TryGetValue((requestId, answer), out MemoryEntry? entry))
        {
            return (entry!.Owner, entry.Body);
        }
        var (owner, cached) = await records.LookupAsync(requestId, answer);
        if (cached is not null)
        {
            Remember(requestId, answer!, owner, cached);
        }
        return (owner, cached);
    }

    private void Remember(string requestId, string answer, string? owner, byte[] body) =>
        _memory.Set((requestId, answer), new MemoryEntry(owner, body), new MemoryCacheEntryOptions
        {
            Size = body.Length + 256,
            AbsoluteExpirationRelativeToNow = TimeSpan.FromTicks(Math.Min(options.Value.ResultTtl.Ticks, MemoryTtl.Ticks)),
        });

    // Redis' copy expires after Cache:ResultTtl; the memory copy never outlives it by much.
    private static readonly TimeSpan MemoryTtl = TimeSpan.FromMinutes(10);

    /// <inheritdoc />
    public void Dispose() => _memory.Dispose();

    private ValueTask WriteProblemAsync(HttpContext context, int status, string detail)
    {
        context.Response.StatusCode = status;
        return problemDetails.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = { Status = status, Detail = detail } });
    }
}
