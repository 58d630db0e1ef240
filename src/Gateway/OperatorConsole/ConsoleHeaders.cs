using Microsoft.AspNetCore.Diagnostics;

namespace Reka.Gateway.OperatorConsole;

/// <summary>
/// The headers every console answer carries. The Content-Security-Policy allows scripts and
/// styles from the gateway only (no inline script, no eval: the console's few scripts are files),
/// pictures and videos from any https host (results live on Reka's CDN, whose hosts the gateway
/// cannot know in advance), connections to the gateway only (the live stream), forms posted to the
/// gateway only, and no framing. Pages are never stored by caches: they show one client's data.
/// </summary>
internal static class ConsoleHeaders
{
    /// <summary>The policy, one line.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https:; media-src 'self' https:; " +
        "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    /// <summary>Adds the headers to the answers of the console's branch (<see cref="ConsoleSetup.UseConsole"/>: under <c>/console</c>), and keeps the gateway's problem-details pages off them (the console says what went wrong in its own pages).</summary>
    public static IApplicationBuilder UseConsoleHeaders(this IApplicationBuilder console) =>
        console.Use(async (context, next) =>
        {
            if (context.Features.Get<IStatusCodePagesFeature>() is { } pages)
            {
                pages.Enabled = false;
            }
            var isAsset = context.Request.Path.StartsWithSegments(ConsoleSetup.AssetsPath);
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                headers["Cross-Origin-Opener-Policy"] = "same-origin";
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
                if (!isAsset)
                {
                    headers.CacheControl = "no-store";
                }
                return Task.CompletedTask;
            });
            await next(context);
        });
}
