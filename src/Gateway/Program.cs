using Reka.Gateway;

// appsettings.json sits at the repository's top and is copied beside the binaries, so the content
// root is the binaries' folder wherever the gateway is started from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddGateway();
var app = builder.Build();
if (!app.HasValidConfiguration())
{
    return 2;
}
app.MapGateway();
await app.RunAsync();
return 0;

/// <summary>The gateway's entry point (public so tests can host it with WebApplicationFactory).</summary>
public partial class Program;
