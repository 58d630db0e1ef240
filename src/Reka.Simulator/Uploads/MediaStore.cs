using System.Collections.Concurrent;

namespace Reka.Simulator.Uploads;

/// <summary>Records of uploaded images and videos (metadata only: their bytes are never kept).</summary>
public sealed class MediaStore
{
    /// <summary>Images by id.</summary>
    public ConcurrentDictionary<string, ImageRecord> Images { get; } = new(StringComparer.Ordinal);

    /// <summary>Videos by id.</summary>
    public ConcurrentDictionary<string, VideoResource> Videos { get; } = new(StringComparer.Ordinal);
}
