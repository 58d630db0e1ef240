using Microsoft.AspNetCore.Mvc;
using Reka.Simulator.Api;
using Reka.Simulator.Stats;

namespace Reka.Simulator.Uploads;

/// <summary>Reka's video management routes under <c>/v2/videos</c>.</summary>
public static class VideoEndpoints
{
    private const string Uploaded = "uploaded";

    /// <summary>Maps upload, list, get and delete.</summary>
    public static IEndpointRouteBuilder MapVideoEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v2/videos", Upload);
        routes.MapGet("/v2/videos", (MediaStore media) => TypedResults.Json(
            new ResultList<VideoResource>([.. media.Videos.Values.OrderByDescending(v => v.Metadata.VideoStartTimestampUtcMs)]),
            SimulatorJsonContext.Default.ResultListVideoResource));
        routes.MapGet("/v2/videos/{video_id}", ([FromRoute(Name = "video_id")] string videoId, MediaStore media) =>
            media.Videos.TryGetValue(videoId, out var video)
                ? TypedResults.Json(video, SimulatorJsonContext.Default.VideoResource)
                : ApiErrors.NotFound($"Video {videoId} not found."));
        routes.MapDelete("/v2/videos/{video_id}", ([FromRoute(Name = "video_id")] string videoId, MediaStore media) =>
            media.Videos.TryRemove(videoId, out var video)
                ? TypedResults.Json(video with { Status = "deleted" }, SimulatorJsonContext.Default.VideoResource)
                : ApiErrors.NotFound($"Video {videoId} not found."));
        return routes;
    }

    // Fields: file (optional), video_url (optional; one of the two is needed), video_name (required
    // with a file), description. group_id is accepted and ignored: groups are not simulated.
    private static async Task<IResult> Upload(HttpContext context, MediaStore media, SimulatorStats stats)
    {
        MultipartStreaming.AllowUnlimitedBody(context);
        if (MultipartStreaming.CreateReader(context.Request) is not { } reader)
            return ApiErrors.Validation("The body must be multipart/form-data.");

        var aborted = context.RequestAborted;
        string? fileName = null, videoUrl = null, videoName = null, description = null;
        long sizeBytes = 0;
        try
        {
            while (await reader.ReadNextSectionAsync(aborted) is { } section)
            {
                if (!MultipartStreaming.TryGetField(section, out var name, out var partFileName)) continue;
                switch (name)
                {
                    case "file" when partFileName is not null:
                        fileName = partFileName;
                        sizeBytes += await MultipartStreaming.CountBytesAsync(section.Body, aborted);
                        break;
                    case "video_url" when partFileName is null:
                        videoUrl = await MultipartStreaming.ReadFieldAsync(section.Body, aborted);
                        break;
                    case "video_name" when partFileName is null:
                        videoName = await MultipartStreaming.ReadFieldAsync(section.Body, aborted);
                        break;
                    case "description" when partFileName is null:
                        description = await MultipartStreaming.ReadFieldAsync(section.Body, aborted);
                        break;
                }
            }
        }
        catch (Exception exception) when (exception is InvalidDataException or IOException)
        {
            return ApiErrors.Validation($"Malformed multipart body: {exception.Message}");
        }
        finally
        {
            stats.AddUploadBytes(sizeBytes);
        }

        if (fileName is null && string.IsNullOrWhiteSpace(videoUrl))
            return ApiErrors.Validation("Provide a file or a video_url.", "file");
        if (fileName is not null && string.IsNullOrWhiteSpace(videoName))
            return ApiErrors.Validation("video_name is required for file uploads.", "video_name");

        var videoId = Guid.NewGuid().ToString();
        var source = fileName ?? videoUrl!;
        var displayName = string.IsNullOrWhiteSpace(videoName) ? Path.GetFileNameWithoutExtension(source) : videoName;
        var metadata = new VideoMetadata(
            Width: 1920, Height: 1080, AvgFps: 30, VideoName: displayName, Title: displayName,
            VideoStartTimestampUtcMs: DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Duration: 60,
            Thumbnail: $"https://cdn.simulator.invalid/thumbnails/{videoId}.jpg",
            Description: description ?? $"Uploaded video file: {source}", Source: source, SizeBytes: sizeBytes);
        var accepted = new VideoResource(videoId, "uploading", metadata);
        media.Videos[videoId] = accepted with { Status = Uploaded };
        return TypedResults.Json(accepted, SimulatorJsonContext.Default.VideoResource, statusCode: StatusCodes.Status202Accepted);
    }
}
