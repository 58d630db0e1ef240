using FluentValidation;
using Microsoft.Net.Http.Headers;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Validation;
using Reka.Gateway.Proxy;
using Reka.Gateway.Usage;

namespace Reka.Gateway.Uploads;

/// <summary>
/// Image and video uploads: multipart bodies stream to upstream as they arrive, never buffered in
/// memory or on disk, under the route's size cap (<c>Proxy:Routes:image-upload|video-upload:MaxBodyBytes</c>).
/// </summary>
internal static class UploadsApi
{
    /// <summary>Maps <c>POST /v1/images/upload</c> and <c>POST /v2/videos</c>.</summary>
    public static RouteGroupBuilder MapUploadsApi(this IEndpointRouteBuilder endpoints)
    {
        var factory = endpoints.ServiceProvider.GetRequiredService<ProxyRouteFactory>();
        var images = factory.Create(ProxyRouteNames.ImageUpload);
        var videos = factory.Create(ProxyRouteNames.VideoUpload);
        var group = endpoints.MapGroup("")
            .WithTag("Uploads", "Image and video uploads, streamed to Reka as they arrive (never buffered), within the route's byte cap.")
            .RequireAuthorization()
            .RequireRateLimiting(ClientsSetup.PerClientRateLimit);

        group.MapPost("/v1/images/upload", (MultipartUpload upload, HttpContext context, UpstreamForwarder forwarder, UsageLedger usage, GatewayMetrics metrics) =>
                ForwardCountedAsync(context, forwarder, images, usage, metrics))
            .WithName("UploadImages")
            .WithSummary("Upload images")
            .WithRequestBody<ImageUploadForm>("multipart/form-data")
            .Produces<ImageUploadResult>()
            .WithValidation<MultipartUpload>()
            .ForwardedAlong(images);

        group.MapPost("/v2/videos", (MultipartUpload upload, HttpContext context, UpstreamForwarder forwarder, UsageLedger usage, GatewayMetrics metrics) =>
                ForwardCountedAsync(context, forwarder, videos, usage, metrics))
            .WithName("UploadVideo")
            .WithSummary("Upload a video")
            .WithDescription("Streams to upstream as it arrives: a multi-GB file goes through with flat memory.")
            .WithRequestBody<VideoUploadForm>("multipart/form-data")
            .Produces<VideoUploadAccepted>(StatusCodes.Status202Accepted)
            .WithValidation<MultipartUpload>()
            .ForwardedAlong(videos);
        return group;
    }

    // The bytes read from the caller count as the client's upload, whatever upstream answers.
    private static async Task ForwardCountedAsync(HttpContext context, UpstreamForwarder forwarder, ProxyRoute route, UsageLedger usage, GatewayMetrics metrics)
    {
        var body = new CountedBody(context.Request.Body);
        context.Request.Body = body;
        await forwarder.ForwardAsync(context, route);
        var client = context.GetClient().Name;
        usage.Count(client, UsageFields.UploadBytes, body.BytesRead);
        metrics.Uploaded(client, body.BytesRead);
    }
}

/// <summary>An upload's <c>Content-Type</c>, read without touching the body.</summary>
/// <param name="ContentType">The header's value, if any.</param>
internal sealed record MultipartUpload(string? ContentType)
{
    /// <summary>Binds from the request headers only.</summary>
    public static ValueTask<MultipartUpload?> BindAsync(HttpContext context) =>
        ValueTask.FromResult<MultipartUpload?>(new MultipartUpload(context.Request.ContentType));
}

/// <summary>
/// An upload must be <c>multipart/form-data</c> with a boundary of 1-70 characters (RFC 2046
/// section 5.1.1), or upstream could not read it.
/// </summary>
internal sealed class MultipartUploadValidator : AbstractValidator<MultipartUpload>
{
    public MultipartUploadValidator() =>
        RuleFor(u => u.ContentType).Must(HaveBoundary)
            .WithMessage("Content-Type must be multipart/form-data with a boundary of 1-70 characters.")
            .OverridePropertyName("Content-Type");

    private static bool HaveBoundary(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var type)
        && type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
        && HeaderUtilities.RemoveQuotes(type.Boundary).Length is >= 1 and <= 70;
}
