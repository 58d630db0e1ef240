using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Reka.Simulator.Api;
using Reka.Simulator.Stats;

namespace Reka.Simulator.Uploads;

/// <summary>Reka's image management routes under <c>/v1/images</c>.</summary>
public static class ImageEndpoints
{
    /// <summary>Maps upload, list and get.</summary>
    public static IEndpointRouteBuilder MapImageEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/images/upload", Upload);
        routes.MapGet("/v1/images", (MediaStore media) => TypedResults.Json(
            new ResultList<ImageRecord>([.. media.Images.Values.OrderByDescending(i => i.UploadTimestamp)]),
            SimulatorJsonContext.Default.ResultListImageRecord));
        routes.MapGet("/v1/images/{image_id}", ([FromRoute(Name = "image_id")] string imageId, MediaStore media) =>
            media.Images.TryGetValue(imageId, out var image)
                ? TypedResults.Json(image, SimulatorJsonContext.Default.ImageRecord)
                : ApiErrors.NotFound($"Image {imageId} not found."));
        return routes;
    }

    // Fields: images (files, repeatable), image_urls (repeatable; a value may be a JSON list),
    // metadata (required string, kept opaque).
    private static async Task<IResult> Upload(HttpContext context, MediaStore media, SimulatorStats stats)
    {
        MultipartStreaming.AllowUnlimitedBody(context);
        if (MultipartStreaming.CreateReader(context.Request) is not { } reader)
            return ApiErrors.Validation("The body must be multipart/form-data.");

        var aborted = context.RequestAborted;
        var sources = new List<(string Source, long SizeBytes)>();
        string? metadata = null;
        long receivedBytes = 0;
        try
        {
            while (await reader.ReadNextSectionAsync(aborted) is { } section)
            {
                if (!MultipartStreaming.TryGetField(section, out var name, out var fileName)) continue;
                if (name == "images" && fileName is not null)
                {
                    var size = await MultipartStreaming.CountBytesAsync(section.Body, aborted);
                    receivedBytes += size;
                    sources.Add((fileName, size));
                }
                else if (name == "image_urls" && fileName is null)
                {
                    foreach (var url in ParseUrls(await MultipartStreaming.ReadFieldAsync(section.Body, aborted)))
                        sources.Add((url, 0));
                }
                else if (name == "metadata" && fileName is null)
                {
                    metadata = await MultipartStreaming.ReadFieldAsync(section.Body, aborted);
                }
            }
        }
        catch (Exception exception) when (exception is InvalidDataException or IOException or JsonException)
        {
            return ApiErrors.Validation($"Malformed multipart body: {exception.Message}");
        }
        finally
        {
            stats.AddUploadBytes(receivedBytes);
        }

        if (metadata is null) return ApiErrors.Validation("metadata is required.", "metadata");
        if (sources.Count == 0) return ApiErrors.Validation("Provide images or image_urls.", "images");

        var uploadedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var results = new List<ImageUploadResult>(sources.Count);
        foreach (var (source, sizeBytes) in sources)
        {
            var imageId = Guid.NewGuid().ToString();
            var image = new ImageRecord(imageId, $"https://cdn.simulator.invalid/images/{imageId}.jpg", 0, uploadedAt, source, sizeBytes);
            media.Images[imageId] = image;
            results.Add(new ImageUploadResult(image.ImageId, image.ImageUrl, image.IndexingStatus, image.UploadTimestamp));
        }
        return TypedResults.Json(new ResultList<ImageUploadResult>(results), SimulatorJsonContext.Default.ResultListImageUploadResult);
    }

    private static IEnumerable<string> ParseUrls(string field)
    {
        var text = field.Trim();
        if (!text.StartsWith('[')) return text.Length > 0 ? [text] : [];
        return JsonSerializer.Deserialize(text, SimulatorJsonContext.Default.ListString) ?? [];
    }
}
