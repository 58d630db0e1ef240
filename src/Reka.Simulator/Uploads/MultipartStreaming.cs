using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace Reka.Simulator.Uploads;

/// <summary>
/// Reads <c>multipart/form-data</c> as a stream, section by section: file parts are counted and
/// discarded through one pooled buffer, so a multi-GB upload never lands in memory or on disk.
/// </summary>
public static class MultipartStreaming
{
    /// <summary>Longest text field accepted, in bytes (metadata lists can be long; files are not fields).</summary>
    public const int MaxFieldBytes = 1 << 20;

    private const int BufferBytes = 64 * 1024;

    /// <summary>
    /// Lifts Kestrel's request body size limit for this call; must run before the body is read.
    /// </summary>
    public static void AllowUnlimitedBody(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            limit.MaxRequestBodySize = null;
    }

    /// <summary>A reader over the request body, or null when it is not multipart with a boundary.</summary>
    public static MultipartReader? CreateReader(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var boundary = HeaderUtilities.RemoveQuotes(mediaType.Boundary);
        return boundary.Length == 0 ? null : new MultipartReader(boundary.ToString(), request.Body);
    }

    /// <summary>The form field name of <paramref name="section"/> and its file name (null for a text field).</summary>
    public static bool TryGetField(MultipartSection section, out string name, out string? fileName)
    {
        name = "";
        fileName = null;
        if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
            || !disposition.IsFormDisposition() && !disposition.IsFileDisposition())
        {
            return false;
        }
        name = HeaderUtilities.RemoveQuotes(disposition.Name).ToString();
        if (disposition.IsFileDisposition())
        {
            var star = disposition.FileNameStar;
            fileName = HeaderUtilities.RemoveQuotes(star.HasValue ? star : disposition.FileName).ToString();
        }
        return true;
    }

    /// <summary>Reads a file part to its end and answers its length in bytes, keeping none of it.</summary>
    public static async Task<long> CountBytesAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            long total = 0;
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0) total += read;
            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads a text field as UTF-8; throws <see cref="InvalidDataException"/> past <see cref="MaxFieldBytes"/>.</summary>
    public static async Task<string> ReadFieldAsync(Stream body, CancellationToken cancellationToken)
    {
        using var text = new MemoryStream();
        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        try
        {
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                if (text.Length + read > MaxFieldBytes)
                    throw new InvalidDataException($"A form field is longer than {MaxFieldBytes} bytes.");
                text.Write(buffer, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return Encoding.UTF8.GetString(text.GetBuffer(), 0, (int)text.Length);
    }
}
