using System.IO.Pipelines;
using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.Tests.Infrastructure.Redis;

/// <summary>
/// Which failures mean Redis is unavailable for now (503 with Retry-After, jobs put back) and
/// which are the gateway's own bugs (500).
/// </summary>
public sealed class RedisUnavailableTests
{
    [Fact]
    public void APipeReaderCompletedUnderACommand_IsAConnectionLost_NotABug()
    {
        // What StackExchange.Redis 2.x faults a command with when its connection's reader is torn
        // down under it: thrown by System.IO.Pipelines itself.
        var pipe = new Pipe();
        pipe.Reader.Complete();
        var thrown = Assert.Throws<InvalidOperationException>(() => pipe.Reader.AdvanceTo(default(ReadResult).Buffer.Start));

        Assert.Equal("System.IO.Pipelines", thrown.Source);
        Assert.True(RedisStore.IsUnavailable(thrown));
    }

    [Fact]
    public void AnInvalidOperationOfTheGatewaysOwn_IsABug()
    {
        var thrown = Assert.Throws<InvalidOperationException>(() => new List<int>().First());

        Assert.False(RedisStore.IsUnavailable(thrown));
    }

    [Theory]
    [InlineData("OOM command not allowed when used memory > 'maxmemory'.", true)]
    [InlineData("READONLY You can't write against a read only replica.", true)]
    [InlineData("ERR wrong number of arguments for 'hset' command", false)]
    public void ServerErrors_AreUnavailableOnlyWhenRedisSaysSoForNow(string message, bool unavailable) =>
        Assert.Equal(unavailable, RedisStore.IsUnavailable(new RedisServerException(message)));
}
