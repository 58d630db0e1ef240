using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Reka.Simulator;

namespace Reka.Gateway.Tests.Simulator;

public sealed class HostingTests
{
    [Fact]
    public async Task Create_WithInvalidSettings_FailsOnStart()
    {
        await using var app = SimulatorApp.Create([], builder =>
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Simulator:ErrorRate"] = "2" });
        });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("ErrorRate", error.Message);
    }

    [Fact]
    public async Task Create_WithoutUrls_IsConfiguredForTheDefaultUrl()
    {
        await using var app = SimulatorApp.Create([]);

        Assert.Equal(SimulatorApp.DefaultUrl, app.Configuration["urls"]);
    }

    [Fact]
    public async Task Create_WithConfiguredRetrySchedule_ReplacesTheDefault()
    {
        await using var app = SimulatorApp.Create([], builder => builder.Configuration.AddInMemoryCollection(
            new Dictionary<string, string?> { ["Simulator:Webhook:RetrySchedule:0"] = "0.5" }));

        var options = app.Services.GetRequiredService<IOptions<SimulatorOptions>>().Value;

        Assert.Equal([0.5], options.Webhook.RetrySchedule);
    }
}
