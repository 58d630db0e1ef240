using System.Threading.RateLimiting;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.Clients;

/// <summary>
/// A fixed-window limit shared by every replica: a client gets at most <c>PermitLimit</c> requests
/// per window in total, however many replicas serve it. The window's count lives in Redis
/// (<c>ratelimit:{window}:{client}</c>, tagged by client); each replica leases permits from it in batches and
/// spends them locally, so most requests cost no Redis call; the next batch is leased in the
/// background once half of one is spent, so a busy client's requests do not wait for Redis. A
/// batch covers the replica's demand for the next <see cref="DemandHorizon"/> (its rate since the
/// previous lease), at least 1% of the limit up to 100 permits and at most 1% of the limit: a
/// replica serving a busy client asks Redis about ten times a second, not once per 50 requests.
/// A lease never grants past the limit, so replicas together never exceed it; permits a replica
/// leased but did not spend before the window ends are lost (at most about one and a half
/// batches per replica), so under heavy contention a client can get slightly fewer. Windows are
/// aligned on Unix time, so replicas agree on them (clocks must be in sync to within a second).
/// While Redis is unreachable each replica enforces the limit on its own (fails open: a client can
/// then get up to the limit per replica), asking Redis again after 5 s. A window Redis said is used
/// up is refused without asking again.
/// </summary>
internal sealed class SharedWindowRateLimiter : RateLimiter
{
    // KEYS: the window's counter; ARGV: permits wanted, limit, window seconds.
    // Returns the permits granted (0 when the window is spent).
    private const string LeaseScript = """
        local used = tonumber(redis.call('GET', KEYS[1]) or '0')
        local granted = math.min(tonumber(ARGV[1]), tonumber(ARGV[2]) - used)
        if granted <= 0 then return 0 end
        redis.call('INCRBY', KEYS[1], granted)
        redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
        return granted
        """;

    private readonly RedisStore _redis;
    private readonly string _client;
    private readonly int _limit;
    private readonly int _windowSeconds;
    private readonly int _minBatch;
    private readonly int _maxBatch;
    private int _lastBatch; // the size of the latest lease asked for, which decides when to lease ahead
    private int _takenSinceLease; // permits taken locally since the latest lease was asked for
    private long _leasedAt; // when it was asked for (_time's timestamp)
    private readonly SemaphoreSlim _leasing = new(1, 1);
    private readonly Lock _lock = new();
    private long _window;
    private int _available;
    private int _spentLocally; // permits used while Redis was away, per window
    private long _spentWindow = -1; // a window Redis said is used up: refused without asking again
    private long _localUntil; // Environment.TickCount64 until which Redis is not asked (it just failed)
    private long _lastUsed = Environment.TickCount64;
    private int _leasingAhead; // 1 while a lease ahead runs

    private static readonly TimeSpan RedisBackoff = TimeSpan.FromSeconds(5);

    /// <summary>How much of a replica's recent demand one batch covers: 100 ms.</summary>
    public static readonly TimeSpan DemandHorizon = TimeSpan.FromMilliseconds(100);
    private readonly TimeProvider _time;

    /// <summary>Creates the limiter of <paramref name="client"/>; <paramref name="time"/> is the clock windows are aligned on.</summary>
    public SharedWindowRateLimiter(RedisStore redis, string client, RateLimitOptions limit, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _redis = redis;
        _client = client;
        _limit = limit.PermitLimit;
        _windowSeconds = limit.WindowSeconds;
        // Small batches keep the loss at a window's end small: 1% of the limit, at most 100, for a
        // quiet client; a busy one's batches grow with its demand, up to 1% of the limit.
        _minBatch = Math.Clamp(_limit / 100, 1, 100);
        _maxBatch = Math.Max(_minBatch, _limit / 100);
        _lastBatch = _minBatch;
        _leasedAt = _time.GetTimestamp();
    }

    /// <inheritdoc />
    public override TimeSpan? IdleDuration => TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref _lastUsed));

    /// <inheritdoc />
    public override RateLimiterStatistics? GetStatistics() => new() { CurrentAvailablePermits = _available };

    /// <inheritdoc />
    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        // ASP.NET Core's middleware tries this first, and waits on AcquireAsync only when it fails.
        if (TryTakeLocal(permitCount) is not { } lease)
        {
            return Denied.Instance;
        }
        LeaseAheadIfLow();
        return lease;
    }

    /// <inheritdoc />
    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        if (TryTakeLocal(permitCount) is { } lease)
        {
            LeaseAheadIfLow();
            return lease;
        }
        await _leasing.WaitAsync(cancellationToken);
        try
        {
            // Another request may have leased a batch while this one waited.
            if (TryTakeLocal(permitCount) is { } leased)
            {
                return leased;
            }
            while (true)
            {
                var window = CurrentWindow();
                if (window == Volatile.Read(ref _spentWindow))
                {
                    return new Denied(RetryAfter(window));
                }
                if (Environment.TickCount64 < Volatile.Read(ref _localUntil))
                {
                    return SpendWithoutRedis(window, permitCount);
                }
                long granted;
                try
                {
                    granted = await LeaseAsync(_redis.Database, window, Math.Max(NextBatch(), permitCount));
                }
                catch (Exception e) when (RedisStore.IsUnavailable(e))
                {
                    // Requests queue one by one behind a lease: do not make each wait for Redis' timeout.
                    Volatile.Write(ref _localUntil, Environment.TickCount64 + (long)RedisBackoff.TotalMilliseconds);
                    return SpendWithoutRedis(window, permitCount);
                }
                if (granted == 0)
                {
                    Volatile.Write(ref _spentWindow, window);
                }
                lock (_lock)
                {
                    EnterWindow(window);
                    _available += (int)granted;
                }
                if (TryTakeLocal(permitCount) is { } taken)
                {
                    return taken;
                }
                if (granted == 0 || CurrentWindow() == window)
                {
                    return new Denied(RetryAfter(window));
                }
                // The window turned while leasing: the permits leased belong to the old one. Lease again.
            }
        }
        finally
        {
            _leasing.Release();
        }
    }

    // Once half a batch is left, the next batch is leased in the background, so that a busy client's
    // requests keep spending local permits instead of queueing behind a Redis round trip.
    private void LeaseAheadIfLow()
    {
        if (_maxBatch < 4 || Volatile.Read(ref _available) > Volatile.Read(ref _lastBatch) / 2 || Interlocked.CompareExchange(ref _leasingAhead, 1, 0) != 0)
        {
            return;
        }
        _ = LeaseAheadAsync();
    }

    private async Task LeaseAheadAsync()
    {
        try
        {
            await _leasing.WaitAsync();
            try
            {
                var window = CurrentWindow();
                if (Volatile.Read(ref _available) > Volatile.Read(ref _lastBatch) / 2 || window == Volatile.Read(ref _spentWindow)
                    || Environment.TickCount64 < Volatile.Read(ref _localUntil))
                {
                    return;
                }
                long granted;
                try
                {
                    granted = await LeaseAsync(_redis.Database, window, NextBatch());
                }
                catch (Exception e) when (RedisStore.IsUnavailable(e))
                {
                    // As in AcquireAsyncCore: requests waiting for this lease spend locally at once.
                    Volatile.Write(ref _localUntil, Environment.TickCount64 + (long)RedisBackoff.TotalMilliseconds);
                    return;
                }
                if (granted == 0)
                {
                    Volatile.Write(ref _spentWindow, window);
                }
                lock (_lock)
                {
                    // Permits leased for a window that has turned meanwhile are dropped, as at any window's end.
                    if (window == CurrentWindow())
                    {
                        EnterWindow(window);
                        _available += (int)granted;
                    }
                }
            }
            finally
            {
                _leasing.Release();
            }
        }
        catch (ObjectDisposedException)
        {
            // The limiter was disposed (its client removed, or the gateway stopping) meanwhile.
        }
        finally
        {
            Volatile.Write(ref _leasingAhead, 0);
        }
    }

    // Under _leasing: the permits to ask for, from the demand since the previous lease.
    private int NextBatch()
    {
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(_leasedAt, now);
        _leasedAt = now;
        int taken;
        lock (_lock)
        {
            taken = _takenSinceLease;
            _takenSinceLease = 0;
        }
        var demand = taken == 0 ? 0 : elapsed <= TimeSpan.Zero ? _maxBatch : taken * (DemandHorizon / elapsed);
        var batch = (int)Math.Clamp(demand, _minBatch, _maxBatch);
        Volatile.Write(ref _lastBatch, batch);
        return batch;
    }

    private async Task<long> LeaseAsync(IDatabase db, long window, int permits) =>
        (long)await db.ScriptEvaluateAsync(LeaseScript, [_redis.KeyFor($"ratelimit:{window}", _client)], [permits, _limit, _windowSeconds]);

    private RateLimitLease? TryTakeLocal(int permitCount)
    {
        Interlocked.Exchange(ref _lastUsed, Environment.TickCount64);
        lock (_lock)
        {
            if (_window != CurrentWindow() || _available < permitCount)
            {
                return null;
            }
            _available -= permitCount;
            _takenSinceLease += permitCount;
            return Granted.Instance;
        }
    }

    // Under _lock: a new window starts with nothing leased and nothing spent locally.
    private void EnterWindow(long window)
    {
        if (_window != window)
        {
            _window = window;
            _available = 0;
            _spentLocally = 0;
        }
    }

    private RateLimitLease SpendWithoutRedis(long window, int permitCount)
    {
        lock (_lock)
        {
            EnterWindow(window);
            if (_spentLocally + permitCount > _limit)
            {
                return new Denied(RetryAfter(window));
            }
            _spentLocally += permitCount;
            return Granted.Instance;
        }
    }

    private long CurrentWindow() => _time.GetUtcNow().ToUnixTimeSeconds() / _windowSeconds;

    private TimeSpan RetryAfter(long window) =>
        TimeSpan.FromSeconds(Math.Max(1, (window + 1) * _windowSeconds - _time.GetUtcNow().ToUnixTimeSeconds()));

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _leasing.Dispose();
        }
        base.Dispose(disposing);
    }

    private sealed class Granted : RateLimitLease
    {
        public static readonly Granted Instance = new();

        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }

    private sealed class Denied(TimeSpan? retryAfter) : RateLimitLease
    {
        // Returned by AttemptAcquire so that the middleware goes on to AcquireAsync, which asks Redis.
        public static readonly Denied Instance = new(null);

        public override bool IsAcquired => false;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter;
            return retryAfter is not null && metadataName == MetadataName.RetryAfter.Name;
        }
    }
}
