using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
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
        var full = 0;
        void Count(object? sender, System.Runtime.ExceptionServices.FirstChanceExceptionEventArgs e)
        {
            // Other features' semaphores may be full at the same time (tests run in parallel).
            if (e.Exception is SemaphoreFullException && Environment.StackTrace.Contains(nameof(QueueWorker), StringComparison.Ordinal))
            {
                Interlocked.Increment(ref full);
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
        Assert.Equal(0, Volatile.Read(ref full));
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

        public static async Task<WorkerFixture> StartAsync(int maxConcurrency)
        {
            var store = (await RedisServer.Shared).NewStore();
            var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
            var queue = new DurableQueue(store, "jobs", TimeProvider.System);
            var options = new QueueWorkerOptions { MaxConcurrency = maxConcurrency, PollSeconds = PollSeconds };
            var worker = new RecordingWorker(queue, store, options, new GatewayMetrics(services.GetRequiredService<IMeterFactory>()));
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
            Assert.True(await Queue.AddAsync(_store.Database, id, TimeProvider.System.GetUtcNow(), [new("field", "value")]));
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

    private sealed class RecordingWorker(DurableQueue queue, RedisStore redis, QueueWorkerOptions options, GatewayMetrics metrics)
        : QueueWorker(queue, redis, options, metrics, NullLogger.Instance)
    {
        public Channel<string> Handled { get; } = Channel.CreateUnbounded<string>();

        protected override async Task HandleAsync(LeasedJob job, CancellationToken cancellationToken)
        {
            await Queue.DeleteAsync(job);
            Handled.Writer.TryWrite(job.Id);
        }
    }
}
