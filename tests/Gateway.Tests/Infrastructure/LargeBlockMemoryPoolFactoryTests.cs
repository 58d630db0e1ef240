using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Reka.Gateway.Infrastructure;

namespace Reka.Gateway.Tests.Infrastructure;

public sealed class LargeBlockMemoryPoolFactoryTests
{
    [Fact]
    public void GatewaysComposition_GivesKestrel32KiBBlocks_OverKestrelsOwnPool()
    {
        // Program's order: WebApplication.CreateBuilder registers Kestrel (and its 4 KiB pool) first.
        var builder = WebApplication.CreateBuilder();
        builder.AddGateway();
        using var services = builder.Services.BuildServiceProvider();

        var pool = services.GetRequiredService<IMemoryPoolFactory<byte>>().Create();
        using var block = pool.Rent(4096); // the segment size Kestrel's pipes ask for

        Assert.Equal(32 * 1024, block.Memory.Length);
    }

    [Fact]
    public void LargerRequest_GetsABlockOfItsSize()
    {
        var pool = new LargeBlockMemoryPoolFactory().Create();

        using var block = pool.Rent(100_000);

        Assert.True(block.Memory.Length >= 100_000);
    }
}
