using Yarp.ReverseProxy.Transforms;

// Bare YARP, the baseline bench/run.sh measures the gateway against: YARP's direct forwarding
// (IHttpForwarder, as the gateway uses it) on one route that forwards every path to upstream,
// with the gateway's header transform (the caller's credentials dropped, the team key set, no
// X-Forwarded-* headers) and nothing else: no logs, authentication, rate limiting, validation,
// response transforms or metrics.
// Usage: Upstream__BaseUrl=URL Upstream__ApiKey=KEY dotnet BareYarp.dll --urls http://127.0.0.1:PORT
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Logging.ClearProviders();
// As the gateway: no Server header, so both answer the same bytes; and no body size cap, so that the
// bench's 1 GiB upload goes through (the gateway's upload routes have caps of their own).
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxRequestBodySize = null;
});
builder.Services.AddHttpForwarder();

var app = builder.Build();
var upstream = app.Configuration["Upstream:BaseUrl"] ?? throw new InvalidOperationException("Upstream:BaseUrl is required");
var teamKey = app.Configuration["Upstream:ApiKey"] ?? throw new InvalidOperationException("Upstream:ApiKey is required");
app.MapForwarder("/{**path}", upstream, transforms =>
{
    transforms.UseDefaultForwarders = false;
    transforms.AddRequestHeaderRemove("Authorization");
    transforms.AddRequestHeaderRemove("Proxy-Authorization");
    transforms.AddRequestHeaderRemove("Cookie");
    transforms.AddRequestHeader("X-Api-Key", teamKey, append: false);
});
app.Run();
