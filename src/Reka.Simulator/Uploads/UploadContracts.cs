namespace Reka.Simulator.Uploads;

/// <summary>A <c>{"results": [...]}</c> answer, the envelope of image and video lists.</summary>
public sealed record ResultList<T>(IReadOnlyList<T> Results);

/// <summary>One uploaded image as <c>POST /v1/images/upload</c> answers it.</summary>
/// <remarks>
/// <para><c>indexing_status</c>: 0: not indexed yet (the simulator never indexes).</para>
/// <para><c>upload_timestamp</c>: Unix seconds, with fractions.</para>
/// </remarks>
public sealed record ImageUploadResult(string ImageId, string ImageUrl, int IndexingStatus, double UploadTimestamp);

/// <summary>A stored image as <c>GET /v1/images</c> shows it.</summary>
/// <remarks>
/// <para><c>source</c>: The uploaded file name, or the URL it was given as.</para>
/// <para><c>size_bytes</c>: Bytes received for a file; 0 for a URL.</para>
/// </remarks>
public sealed record ImageRecord(
    string ImageId, string ImageUrl, int IndexingStatus, double UploadTimestamp, string Source, long SizeBytes);

/// <summary>A video: the 202 answer of <c>POST /v2/videos</c> and the shape of the video routes.</summary>
/// <remarks>
/// <para><c>status</c>: <c>uploading</c> in the upload answer, <c>uploaded</c> afterwards, <c>deleted</c> in a delete answer.</para>
/// </remarks>
public sealed record VideoResource(string VideoId, string Status, VideoMetadata Metadata);

/// <summary>
/// Video metadata. Width, height, frame rate and duration are fixed placeholders: the simulator
/// never decodes the bytes it receives.
/// </summary>
/// <remarks>
/// <para><c>video_start_timestamp_utc_ms</c>: Upload time, Unix milliseconds.</para>
/// <para><c>duration</c>: Seconds.</para>
/// <para><c>source</c>: The uploaded file name, or the <c>video_url</c>.</para>
/// <para><c>size_bytes</c>: File bytes received; 0 for a <c>video_url</c>.</para>
/// </remarks>
public sealed record VideoMetadata(
    int Width,
    int Height,
    double AvgFps,
    string VideoName,
    string Title,
    long VideoStartTimestampUtcMs,
    double Duration,
    string Thumbnail,
    string Description,
    string Source,
    long SizeBytes);
