using System.Runtime.InteropServices;
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
    public void Request_OverABlock_IsRefused()
    {
        // Kestrel's pipes ask at most MaxBufferSize of a pool and allocate larger buffers themselves.
        var pool = new LargeBlockMemoryPoolFactory().Create();

        Assert.Equal(32 * 1024, pool.MaxBufferSize);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(32 * 1024 + 1));
    }

    [Fact]
    public void BlockDisposedTwice_IsReturnedOnce()
    {
        var pool = new LargeBlockMemoryPoolFactory().Create();
        var block = pool.Rent();
        block.Dispose();
        block.Dispose();

        using var first = pool.Rent();
        using var second = pool.Rent();

        Assert.True(MemoryMarshal.TryGetArray<byte>(first.Memory, out var a));
        Assert.True(MemoryMarshal.TryGetArray<byte>(second.Memory, out var b));
        Assert.NotSame(a.Array, b.Array);
        Assert.Throws<ObjectDisposedException>(() => block.Memory);
    }
}
