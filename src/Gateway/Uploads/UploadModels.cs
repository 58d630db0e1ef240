using System.Text.Json.Nodes;

namespace Reka.Gateway.Uploads;

// Shapes of Reka's upload calls ("Upload Images", "Upload Video" reference pages), documented in
// OpenAPI. Bodies are never parsed by the gateway: they stream through.

/// <summary>Form of <c>POST /v1/images/upload</c>: <c>images</c> (files, optional when <c>image_urls</c> is given) and <c>metadata</c> (required JSON string, a list in the images' order).</summary>
public sealed class ImageUploadForm
{
    // Declared non-nullable so the schema is a plain file list, which Swagger UI renders as file pickers.
    /// <summary>Images to upload.</summary>
    public IFormFileCollection Images { get; init; } = default!;

    /// <summary>URLs of images to fetch instead of files.</summary>
    public string? ImageUrls { get; init; }

    /// <summary>JSON list of metadata objects matching the images' order.</summary>
    public required string Metadata { get; init; }
}

/// <summary>Answer of an image upload.</summary>
public sealed record ImageUploadResult(IReadOnlyList<UploadedImage> Results);

/// <summary>One uploaded image.</summary>
public sealed record UploadedImage(string ImageId, string ImageUrl, int IndexingStatus, double UploadTimestamp);

/// <summary>Form of <c>POST /v2/videos</c>: a <c>file</c> or a <c>video_url</c>; <c>video_name</c> is required for file uploads.</summary>
public sealed class VideoUploadForm
{
    /// <summary>The video file.</summary>
    public IFormFile File { get; init; } = default!;

    /// <summary>URL to download the video from.</summary>
    public string? VideoUrl { get; init; }

    /// <summary>Display name; required for file uploads.</summary>
    public string? VideoName { get; init; }

    /// <summary>Video group to add it to.</summary>
    public string? GroupId { get; init; }

    /// <summary>Description.</summary>
    public string? Description { get; init; }
}

/// <summary>202 answer of a video upload; <c>status</c> is e.g. <c>uploading</c>, <c>pending</c>, <c>uploaded</c>.</summary>
public sealed record VideoUploadAccepted(string VideoId, string Status, JsonObject? Metadata);
