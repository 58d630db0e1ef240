using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Queues;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.Tests.Infrastructure.Queues;

public sealed class QueueWorkerTests
{
    // Far longer than any wait below: a job is claimed because its wake-up was seen, not by a poll.
    private const double PollSeconds = 600;

    [Fact]
    public async Task WakeUps_ThrowNothing_AndEachJobAfterABurstIsClaimedOnItsWakeUp()
    {
        await using var fixture = await WorkerFixture.StartAsync(maxConcurrency: 4);
        var thrown = 0;
        void Count(object? sender, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs e)
        {
            // A wake-up runs on the Redis client's thread, outside the test's flow: told by the
            // subscription handler's frame, which is under every wake-up (Wake itself may be inlined).
            if (Environment.StackTrace.Contains("<SubscribeToWakeUpsAsync>b__", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref thrown);
            }
        }
        AppDomain.CurrentDomain.FirstChanceException += Count;
        try
        {
            // A burst, as under load: one wake-up per callback, mostly while the worker is awake.
            await Task.WhenAll(Enumerable.Range(0, 500).Select(i => fixture.Queue.WakeAsync(i % fixture.Queue.Partitions)));
            for (var i = 0; i < 5; i++)
            {
                var id = $"job-{i}";
                await fixture.AddAndWakeAsync(id);
                Assert.Equal(id, await fixture.NextHandledAsync());
            }
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Count;
        }
        Assert.Equal(0, Volatile.Read(ref thrown));
    }

    [Fact]
    public async Task ADueJobNobodyWakes_IsClaimed_WhileAnotherPartitionKeepsWakingTheWorker()
    {
        // A retry or a lease run out is due without a wake-up. Under load, wake-ups for other
        // partitions come all the time; the round after the job is seen due must still look at
        // every partition, not only at the ones woken.
        await using var fixture = await WorkerFixture.StartAsync(maxConcurrency: 4);
        const string quiet = "quiet-job";
        var quietPartition = fixture.Queue.PartitionOf(quiet);
        var busyPartition = (quietPartition + 1) % fixture.Queue.Partitions;
        using var stop = new CancellationTokenSource();
        var wakeUps = 0;
        // Four publishers, each waiting for Redis's reply before the next: wake-ups all through the worker's rounds.
        var waking = Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await fixture.Database.PublishAsync(fixture.Queue.WakeChannel(busyPartition), "1");
                Interlocked.Increment(ref wakeUps);
            }
        })));
        try
        {
            await Eventually.ThatAsync(() => Task.FromResult(Volatile.Read(ref wakeUps) > 100), 30, "the wake-ups to flow");
            // Due a moment from now, so that no round before the wake-ups flowed could claim it.
            var due = fixture.Queue.Time.GetUtcNow().AddMilliseconds(200);
            Assert.True(await fixture.Queue.AddAsync(fixture.Database, quiet, due, [new("field", "value")]));
            var wakeUpsBefore = Volatile.Read(ref wakeUps);

            Assert.Equal(quiet, await fixture.NextHandledAsync());
            Assert.True(Volatile.Read(ref wakeUps) > wakeUpsBefore, "the wake-ups kept coming while the job waited");
        }
        finally
        {
            await stop.CancelAsync();
            await waking;
        }
    }

    [Fact]
    public async Task IdlePolls_ThrowNothing()
    {
        // Each poll that found nothing used to end in an OperationCanceledException thrown inside
        // the runtime, counted by the dotnet.exceptions metric: about 10 a second on an idle replica.
        var clock = new TestClock();
        var poll = TimeSpan.FromSeconds(1);
        using var exceptions = new ExceptionsInThisFlow();
        await using var fixture = await WorkerFixture.StartAsync(maxConcurrency: 1, pollSeconds: poll.TotalSeconds, time: clock);
        var before = exceptions.Thrown.Count;

        for (var polls = 1; polls <= 5; polls++)
        {
            await clock.WaitForTimersAsync(poll, polls);
            clock.Advance(poll);
        }
        // The sixth wait has started: the five before it ended and the loop went round each time.
        await clock.WaitForTimersAsync(poll, 6);

        Assert.DoesNotContain(exceptions.Thrown.Skip(before), ExceptionsInThisFlow.IsNotRedisSlowness);

        // Still awake to wake-ups after the idle polls.
        await fixture.AddAndWakeAsync("after-idle");
        Assert.Equal("after-idle", await fixture.NextHandledAsync());
    }

    [Fact]
    public async Task JobsThatFinishAtOnce_GiveTheirSlotsBack()
    {
        await using var fixture = await WorkerFixture.StartAsync(maxConcurrency: 2);
        const int count = 400;
        var ids = Enumerable.Range(0, count).Select(i => $"quick-{i}").ToList();
        foreach (var id in ids)
        {
            await fixture.AddAndWakeAsync(id);
        }
        var handled = new HashSet<string>();
        while (handled.Count < count)
        {
            handled.Add(await fixture.NextHandledAsync());
        }
        Assert.Equal(ids.ToHashSet(), handled);
        // No finished job is still counted against the slots.
        await Eventually.ThatAsync(() => Task.FromResult(fixture.InFlightCount == 0), 30, "every slot to be free");

        // A job woken now is claimed at once.
        await fixture.AddAndWakeAsync("last");
        Assert.Equal("last", await fixture.NextHandledAsync());
    }

    [Fact]
    public async Task PutBackThatRedisRefuses_IsLogged()
    {
        var logs = new LogCapture();
        // A put-back is tried only while a poll fits before the lease's end.
        await using var fixture = await WorkerFixture.StartAsync(maxConcurrency: 1, logs.CreateLogger(nameof(QueueWorker)), pollSeconds: 1);
        fixture.BeforeHandling = async job =>
        {
            // The job's record turned into a string: Redis refuses the put-back (WRONGTYPE), as it
            // refuses writes when out of memory, after the handler met Redis failing over.
            var record = fixture.Queue.JobKey(job.Partition, job.Id);
            await fixture.Database.KeyDeleteAsync(record);
            await fixture.Database.StringSetAsync(record, "not a job");
            throw new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None, "failing over", null, CommandStatus.Unknown);
        };

        await fixture.AddAndWakeAsync("refused");

        await Eventually.ThatAsync(() => Task.FromResult(logs.Errors.Any(e =>
            e.Message.Contains("Job refused of queue jobs not put back (RedisServerException: WRONGTYPE", StringComparison.Ordinal))),
            30, "the refused put-back to be logged");
    }

    [Fact]
    public async Task APartitionWithJobsDue_IsNotPassedOverForABusierOne()
    {
        // Ten jobs due in the first partition and one in the last, there before the worker starts
        // (its first round looks at every partition), and one slot: each freed slot went to the
        // first partition again, so the last one's job waited for all ten.
        static IEnumerable<string> IdsIn(DurableQueue queue, int partition) =>
            Enumerable.Range(0, 100_000).Select(i => $"job-{i}").Where(id => queue.PartitionOf(id) == partition);
        List<string> busy = [];
        var lone = "";
        await using var fixture = await WorkerFixture.StartAsync(maxConcurrency: 1, seed: async (queue, db) =>
        {
            busy = [.. IdsIn(queue, 0).Take(10)];
            lone = IdsIn(queue, queue.Partitions - 1).First();
            foreach (var id in busy.Append(lone))
            {
                Assert.True(await queue.AddAsync(db, id, TimeProvider.System.GetUtcNow(), [new("field", "value")]));
            }
        });

        var handled = new List<string>();
        while (handled.Count < busy.Count + 1)
        {
            handled.Add(await fixture.NextHandledAsync());
        }

        // The first round claims one job of the first partition and passes over the others; the
        // next round starts there, and finds the last partition's job.
        Assert.Equal(1, handled.IndexOf(lone));
        Assert.Equal(busy.ToHashSet(), handled.Where(id => id != lone).ToHashSet());
    }

    private sealed class WorkerFixture : IAsyncDisposable
    {
        private readonly RedisStore _store;
        private readonly ServiceProvider _services;
        private readonly RecordingWorker _worker;

        private WorkerFixture(RedisStore store, ServiceProvider services, DurableQueue queue, RecordingWorker worker)
        {
            _store = store;
            _services = services;
            Queue = queue;
            _worker = worker;
        }

        public DurableQueue Queue { get; }

        public int InFlightCount => _worker.InFlightCount;

        public IDatabase Database => _store.Database;

        /// <summary>Runs before each job is handled; what it throws, the handler throws.</summary>
        public Func<LeasedJob, Task>? BeforeHandling
        {
            set => _worker.BeforeHandling = value;
        }

        /// <param name="seed">Runs before the worker starts (jobs added there are found by its first round, which looks at every partition).</param>
        /// <param name="time">The queue's clock, and so the worker's (default: the system's).</param>
        public static async Task<WorkerFixture> StartAsync(int maxConcurrency, ILogger? logger = null, double pollSeconds = PollSeconds,
            Func<DurableQueue, IDatabase, Task>? seed = null, TimeProvider? time = null)
        {
            var store = (await RedisServer.Shared).NewStore();
            // Connected before the worker starts: its first subscription, should it fail, would be
            // retried only after a poll on the queue's clock, which a test's clock may never reach.
            await store.Database.PingAsync();
            var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
            var queue = new DurableQueue(store, "jobs", time ?? TimeProvider.System);
            if (seed is not null)
            {
                await seed(queue, store.Database);
            }
            var options = new QueueWorkerOptions { MaxConcurrency = maxConcurrency, PollSeconds = pollSeconds };
            var worker = new RecordingWorker(queue, store, options, new GatewayMetrics(services.GetRequiredService<IMeterFactory>()), logger ?? NullLogger.Instance);
            var fixture = new WorkerFixture(store, services, queue, worker);
            try
            {
                await worker.StartAsync(CancellationToken.None);
                // A wake-up published before the worker subscribes is lost to it.
                RedisValue[] channels = [.. Enumerable.Range(0, queue.Partitions).Select(p => (RedisValue)queue.WakeChannel(p).ToString())];
                await Eventually.ThatAsync(async () =>
                {
                    var counts = (RedisResult[])(await store.Database.ExecuteAsync("PUBSUB", ["NUMSUB", .. channels.Cast<object>()]))!;
                    return Enumerable.Range(0, channels.Length).All(i => (long)counts[2 * i + 1] >= 1);
                }, 30, "the worker to subscribe to its wake-ups");
                return fixture;
            }
            catch
            {
                await fixture.DisposeAsync();
                throw;
            }
        }

        public async Task AddAndWakeAsync(string id)
        {
            Assert.True(await Queue.AddAsync(_store.Database, id, Queue.Time.GetUtcNow(), [new("field", "value")]));
            await Queue.WakeAsync(Queue.PartitionOf(id));
        }

        public async Task<string> NextHandledAsync() =>
            await _worker.Handled.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        public async ValueTask DisposeAsync()
        {
            await _worker.StopAsync(CancellationToken.None);
            _worker.Dispose();
            _store.Dispose();
            await _services.DisposeAsync();
        }
    }

    private sealed class RecordingWorker(DurableQueue queue, RedisStore redis, QueueWorkerOptions options, GatewayMetrics metrics, ILogger logger)
        : QueueWorker(queue, redis, options, metrics, logger)
    {
        public Func<LeasedJob, Task>? BeforeHandling { get; set; }

        public Channel<string> Handled { get; } = Channel.CreateUnbounded<string>();

        protected override async Task HandleAsync(LeasedJob job, CancellationToken cancellationToken)
        {
            if (BeforeHandling is { } before)
            {
                await before(job);
            }
            await Queue.DeleteAsync(job);
            Handled.Writer.TryWrite(job.Id);
        }
    }
}
