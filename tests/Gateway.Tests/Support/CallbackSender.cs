using System.Threading.Channels;

namespace Reka.Gateway.Tests.Support;

/// <summary>
/// Posts Reka's callbacks to the gateway as Reka would, retrying each one until it is answered
/// 2xx, and counts how each was answered the first time: <see cref="AcceptedAtOnce"/> (2xx) or
/// <see cref="RefusedAtFirst"/> (anything else, then accepted on a retry). A refused callback
/// waits 200 ms at the back of the line, so the others keep going meanwhile.
/// </summary>
public sealed class CallbackSender(HttpClient http)
{
    private int _acceptedAtOnce;
    private int _refusedAtFirst;

    /// <summary>Callbacks answered 2xx at the first try.</summary>
    public int AcceptedAtOnce => Volatile.Read(ref _acceptedAtOnce);

    /// <summary>Callbacks answered otherwise at the first try (accepted later, on a retry).</summary>
    public int RefusedAtFirst => Volatile.Read(ref _refusedAtFirst);

    /// <summary>
    /// Sends each callback (URL with its token, request id), <paramref name="concurrency"/> at a
    /// time and, with <paramref name="perSecond"/>, no more new ones a second than that (retries
    /// aside), until every one is answered 2xx; fails after <paramref name="timeoutSeconds"/>.
    /// </summary>
    public async Task SendAsync(IEnumerable<(string Url, string RequestId)> callbacks, int concurrency, double? perSecond = null, double timeoutSeconds = 120)
    {
        var pace = new System.Diagnostics.Stopwatch();
        var started = 0;
        pace.Start();
        var pending = callbacks.Select(c => new Pending(c.Url, c.RequestId)).ToList();
        var queue = Channel.CreateUnbounded<Pending>();
        foreach (var callback in pending)
        {
            queue.Writer.TryWrite(callback);
        }
        var left = pending.Count;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        var workers = Enumerable.Range(0, concurrency).Select(async worker =>
        {
            await foreach (var callback in queue.Reader.ReadAllAsync(deadline.Token))
            {
                if (perSecond is { } rate && callback.Attempts == 0)
                {
                    // The n-th callback starts no sooner than n / rate seconds in: traffic, not a burst.
                    var due = TimeSpan.FromSeconds(Interlocked.Increment(ref started) / rate);
                    if (due > pace.Elapsed)
                    {
                        await Task.Delay(due - pace.Elapsed, deadline.Token);
                    }
                }
                var accepted = await PostAsync(callback);
                if (callback.Attempts++ == 0)
                {
                    Interlocked.Increment(ref accepted ? ref _acceptedAtOnce : ref _refusedAtFirst);
                }
                if (accepted)
                {
                    if (Interlocked.Decrement(ref left) == 0)
                    {
                        queue.Writer.TryComplete();
                    }
                    continue;
                }
                _ = Task.Delay(200).ContinueWith(_ => queue.Writer.TryWrite(callback), TaskScheduler.Default);
            }
        }).ToList();
        try
        {
            await Task.WhenAll(workers);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"{Volatile.Read(ref left)} callbacks were never accepted within {timeoutSeconds} s: "
                + string.Join(", ", pending.Where(p => p.LastStatus is not { } s || (int)s >= 300).Select(p => $"{p.RequestId} ({p.LastStatus})").Take(5)));
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> callbacks were refused at their first try.</summary>
    public Task WaitForRefusalsAsync(int count, double timeoutSeconds) =>
        Eventually.ThatAsync(() => Task.FromResult(RefusedAtFirst >= count), timeoutSeconds, $"{count} callbacks to be refused");

    private async Task<bool> PostAsync(Pending callback)
    {
        try
        {
            using var body = new StringContent($$"""{"request_id":"{{callback.RequestId}}","status":"COMPLETED"}""", Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(callback.Url, body);
            callback.LastStatus = response.StatusCode;
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            callback.LastStatus = null;
            return false;
        }
    }

    private sealed class Pending(string url, string requestId)
    {
        public string Url => url;
        public string RequestId => requestId;
        public int Attempts { get; set; }
        public HttpStatusCode? LastStatus { get; set; }
    }
}
