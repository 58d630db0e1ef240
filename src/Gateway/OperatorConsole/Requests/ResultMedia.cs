using System.Text.Json.Nodes;

namespace Reka.Gateway.OperatorConsole.Requests;

/// <summary>A picture or a video a result links to.</summary>
/// <param name="Kind"><c>video</c> or <c>image</c>.</param>
/// <param name="Field">Where in the output it was found (<c>video_url</c>, <c>images[0].url</c>...).</param>
/// <param name="Url">The URL.</param>
/// <param name="ExpiresAt">When the URL stops working, when the result says (<c>{field}_expires_at</c>).</param>
/// <param name="Embeddable">Whether the page can show it: https only (the console's Content-Security-Policy, and no mixed content).</param>
internal sealed record ResultMedia(string Kind, string Field, string Url, DateTimeOffset? ExpiresAt, bool Embeddable);

/// <summary>
/// Finds what a result's <c>output</c> shows. Reka documents <c>output.video_url</c> (with
/// <c>video_url_expires_at</c>) for video models; other models' outputs are not documented, so any
/// absolute http(s) URL in the output counts, as a video when its field or path says video
/// (<c>video</c>, <c>.mp4</c>, <c>.webm</c>, <c>.mov</c>) and as a picture when it says image.
/// </summary>
internal static class ResultMediaFinder
{
    private static readonly string[] VideoExtensions = [".mp4", ".webm", ".mov", ".m4v"];
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".webp", ".gif", ".avif"];

    /// <summary>The media of <paramref name="output"/>, in the order found; at most 20.</summary>
    public static IReadOnlyList<ResultMedia> Find(JsonNode? output)
    {
        var found = new List<ResultMedia>();
        Walk(output, "", null, found);
        return found;
    }

    private static void Walk(JsonNode? node, string path, JsonObject? parent, List<ResultMedia> found)
    {
        if (found.Count >= 20)
        {
            return;
        }
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, value) in obj)
                {
                    Walk(value, path.Length == 0 ? name : $"{path}.{name}", obj, found);
                }
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    Walk(array[i], $"{path}[{i}]", parent, found);
                }
                break;
            case JsonValue value when value.TryGetValue(out string? text)
                && Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp):
                var field = path.ToLowerInvariant();
                var file = uri.AbsolutePath.ToLowerInvariant();
                var kind = field.Contains("video") || VideoExtensions.Any(file.EndsWith) ? "video"
                    : field.Contains("image") || field.Contains("thumbnail") || ImageExtensions.Any(file.EndsWith) ? "image"
                    : null;
                if (kind is not null)
                {
                    var name = path[(path.LastIndexOf('.') + 1)..];
                    var expires = parent is not null && ConsoleRequests.Time(parent, name + "_expires_at") is { } at ? at : (DateTimeOffset?)null;
                    found.Add(new ResultMedia(kind, path, text, expires, uri.Scheme == Uri.UriSchemeHttps));
                }
                break;
        }
    }
}
