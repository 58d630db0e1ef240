using System.Buffers;
using CommunityToolkit.HighPerformance.Buffers;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Requests;

namespace Reka.Gateway.Inference;

/// <summary>Marks a forwarded status or result call whose terminal answer should be cached.</summary>
/// <param name="RequestId">The request.</param>
/// <param name="Answer">The cache field (<see cref="RequestRecords.Answers"/>).</param>
/// <param name="Owner">The request's owner, when the gateway knows it.</param>
internal sealed record CacheableAnswer(string RequestId, string Answer, string? Owner);

/// <summary>
/// Ownership and the result cache. Status, result and cancel of a request another client
/// submitted are answered 404, and so are those of requests the gateway has no record of
/// (submitted around it, or older than <c>Cache:ResultTtl</c>) unless the client is an admin; list
/// answers drop the same items. A terminal answer in Redis is served without calling upstream
/// (<c>X-Cache: HIT</c>); otherwise the call is forwarded (<c>X-Cache: MISS</c>) and a terminal
/// 200 answer is stored. A terminal answer never changes, nor does a request's owner, so each
/// replica also keeps those it saw in memory (bounded by <c>Cache:MemoryLimitBytes</c>) and
/// answers repeats without a Redis round trip.
/// </summary>
internal sealed class ResultCache(RequestRecords records, IOptions<CacheOptions> options, GatewayMetrics metrics,
    ILogger<ResultCache> logger) : IDisposable
{
    /// <summary>Header telling whether an answer came from the cache.</summary>
    public const string CacheHeader = "X-Cache";

    private readonly MemoryCache _memory = new(new MemoryCacheOptions { SizeLimit = options.Value.MemoryLimitBytes });

    private sealed record MemoryEntry(string? Owner, byte[] Body);

    /// <summary>
    /// Answers the call from the gateway when it can: 404 (another client's request) or the
    /// cached answer <paramref name="answer"/> (null: only check ownership). Returns true when the
    /// response is written.
    /// </summary>
    /// <exception cref="StackExchange.Redis.RedisException">Redis failed: ownership is unknown, nothing may be forwarded.</exception>
    public async Task<bool> TryAnswerAsync(HttpContext context, string requestId, string? answer)
    {
        var (owner, cached) = await LookupAsync(requestId, answer);
        if (!MayAccess(context.GetClient(), owner))
        {
            // 404, not 403: another client's request ids are not this client's business.
            await Problems.WriteAsync(context, StatusCodes.Status404NotFound,
                $"There is no request '{requestId}' among this client's requests (records are kept for Cache:ResultTtl).");
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
    public async ValueTask<ReadOnlyMemory<byte>?> StoreIfTerminalAsync(HttpContext context, HttpResponseMessage response, ReadOnlyMemory<byte> body)
    {
        if (context.Features.Get<CacheableAnswer>() is not { } target || response.StatusCode != System.Net.HttpStatusCode.OK
            || !options.Value.IsTerminal(InferenceJson.ReadTopLevelString(body.Span, "status")))
        {
            return body;
        }
        try
        {
            // One copy, out of the transform's pooled buffer, for both Redis and memory.
            var answer = body.ToArray();
            await records.StoreAnswersAsync(target.RequestId, [new(target.Answer, answer)]);
            Remember(target.RequestId, target.Answer, target.Owner, answer);
        }
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            GatewayLog.CacheStoreFailed(logger, target.RequestId, e.GetType().Name);
        }
        return body;
    }

    /// <summary>
    /// Response handler of the list route: drops the items a non-admin client may not see
    /// (<see cref="MayAccess"/>), writing the page itself when it dropped any. Paging is upstream's: a page may then hold fewer than
    /// <c>limit</c> items, and <c>next_offset</c> still leads to the next one.
    /// </summary>
    public async ValueTask<ReadOnlyMemory<byte>?> FilterListAsync(HttpContext context, HttpResponseMessage response, ReadOnlyMemory<byte> body)
    {
        var client = context.GetClient();
        if (client.Admin)
        {
            return body;
        }
        using var page = ListPage.Read(body.Span);
        if (page.Count == 0)
        {
            return body;
        }
        // Pooled, as the page's items are: only indexes below the page's count are used, cleared
        // first (an item without an id has no owner; the array's last user may not have cleared it).
        var owners = ArrayPool<string?>.Shared.Rent(page.Count);
        owners.AsSpan(0, page.Count).Clear();
        try
        {
            await FindOwnersAsync(page, owners);
            if (MayAccessAll(client, owners.AsSpan(0, page.Count)))
            {
                return body; // the common page: only the caller's own requests, passed on as it came
            }

            // Written from a pooled buffer, returned once the page is sent.
            using var filtered = new ArrayPoolBufferWriter<byte>(body.Length);
            page.WriteKeeping(body.Span, filtered, (client, owners), static (state, i) => MayAccess(state.client, state.owners[i]));
            context.Response.ContentLength = filtered.WrittenCount;
            await context.Response.Body.WriteAsync(filtered.WrittenMemory, context.RequestAborted);
            return null;
        }
        // Only the owners' lookup calls Redis.
        catch (Exception e) when (RedisStore.IsUnavailable(e))
        {
            context.Response.Clear();
            await RedisUnavailableHandler.WriteAsync(context, "Which requests of the page this client owns could not be checked, so none is shown.");
            return null;
        }
        finally
        {
            ArrayPool<string?>.Shared.Return(owners, clearArray: true);
        }
    }

    /// <summary>Whether <paramref name="client"/> may see a request owned by <paramref name="owner"/> (null: no record).</summary>
    public static bool MayAccess(GatewayClient client, string? owner) => client.Admin || owner == client.Name;

    private static bool MayAccessAll(GatewayClient client, ReadOnlySpan<string?> owners)
    {
        foreach (var owner in owners)
        {
            if (!MayAccess(client, owner))
            {
                return false;
            }
        }
        return true;
    }

    // From memory when it knows them all (the usual page); otherwise the rest from Redis, in one call.
    private ValueTask FindOwnersAsync(ListPage page, string?[] owners)
    {
        List<int>? missing = null;
        var items = page.Items;
        for (var i = 0; i < items.Length; i++)
        {
            if (items[i].RequestId is { } id && !_memory.TryGetValue(id, out owners[i]))
            {
                (missing ??= []).Add(i);
            }
        }
        return missing is null ? ValueTask.CompletedTask : FindOwnersInRedisAsync([.. missing.Select(i => page.Items[i].RequestId!)], missing, owners);
    }

    private async ValueTask FindOwnersInRedisAsync(string[] requestIds, List<int> missing, string?[] owners)
    {
        var found = await records.OwnersAsync(requestIds);
        for (var m = 0; m < missing.Count; m++)
        {
            owners[missing[m]] = found[m];
            if (found[m] is { } owner)
            {
                _memory.Set(requestIds[m], owner, new MemoryCacheEntryOptions { Size = 128, AbsoluteExpirationRelativeToNow = MemoryTtl });
            }
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
}
