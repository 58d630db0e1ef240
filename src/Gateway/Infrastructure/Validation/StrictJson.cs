using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Reka.Gateway.Infrastructure.Validation;

/// <summary>Why a JSON body was refused.</summary>
/// <param name="Field">The offending member as a field name for <c>errors</c>: its JSON path without <c>$.</c> (<c>input.prompt</c>), or <c>body</c> for the body as a whole.</param>
/// <param name="Detail">What is wrong, naming the JSON path (<c>$.input.prompt</c>).</param>
internal sealed record JsonBodyError(string Field, string Detail);

/// <summary>
/// The one policy by which the gateway reads a JSON body (a submit, Reka's callback, a
/// subscription): RFC 8259 JSON whose strings (member names included) are all valid Unicode,
/// and whose objects never repeat a member name.
/// <list type="bullet">
/// <item>Ill-formed UTF-8 (RFC 8259 §8.1, RFC 3629) and unpaired surrogate escapes such as
/// <c>"\ud800"</c> (§8.2) are refused: System.Text.Json would otherwise replace them with U+FFFD,
/// silently changing the caller's input, or fail when the value is written again.</item>
/// <item>A repeated member name is refused: RFC 8259 §4 leaves its meaning to each parser, so the
/// gateway and Reka could read one body two ways.</item>
/// <item>A body nested deeper than <see cref="MaxDepth"/> levels is refused (RFC 8259 §9 lets a
/// parser limit nesting): the gateway carries what it accepted a few levels deeper later (Reka's
/// answers echo a submit's <c>input</c> inside list items and events), and must still be able to
/// read and write it there.</item>
/// </list>
/// A leading UTF-8 byte order mark is ignored, as §8.1 allows. Bodies bound by minimal APIs get the
/// same rules from <see cref="Configure"/>: the serializer refuses repeated members it binds and
/// strings that are not valid Unicode.
/// </summary>
internal static class StrictJson
{
    /// <summary>What a JSON body's <c>Content-Type</c> may be, as said in 415 answers.</summary>
    public const string MediaTypes = "application/json (or a +json media type; a charset parameter is allowed, the body is read as UTF-8)";

    /// <summary>
    /// Deepest nesting accepted, in levels (the body itself is one). Half System.Text.Json's
    /// default of 64, which the gateway's own readers and writers keep: a submit's <c>input</c>
    /// comes back from Reka inside list items (two levels deeper) and events (one level deeper).
    /// </summary>
    public const int MaxDepth = 32;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MaxDepth };

    /// <summary>Applies the policy to the serializer options minimal APIs bind bodies with.</summary>
    public static void Configure(JsonSerializerOptions options)
    {
        options.AllowDuplicateProperties = false;
        options.MaxDepth = MaxDepth;
    }

    /// <summary>Whether the request declares a JSON body (<see cref="MediaTypes"/>).</summary>
    public static bool HasJsonContentType(HttpRequest request) => request.HasJsonContentType();

    /// <summary>The detail of a 415 answer to <paramref name="request"/>: what to send instead (its path only: a callback's query holds its token).</summary>
    public static string UnsupportedMediaType(HttpRequest request) =>
        $"{request.Method} {request.Path} takes a body whose Content-Type is {MediaTypes}; " +
        (string.IsNullOrEmpty(request.ContentType) ? "none was given." : $"it was '{request.ContentType}'.");

    /// <summary>
    /// Reads the request body and parses it by the policy: the node (null for the JSON literal
    /// <c>null</c>), or why the body was refused.
    /// </summary>
    /// <exception cref="BadHttpRequestException">
    /// The body exceeds the request's size limit (413), came too slowly (408), or could not be read
    /// as HTTP framed it (400: a malformed chunk, the connection lost).
    /// </exception>
    public static async Task<(JsonNode? Node, JsonBodyError? Error)> ReadAsync(HttpRequest request, CancellationToken cancellationToken) =>
        Parse(await ReadBodyAsync(request, cancellationToken));

    /// <summary>
    /// Reads the request body and checks it by the policy: the document, which the caller
    /// disposes, or why the body was refused. For a caller that only reads the body: it is parsed
    /// once, not a second time into a node.
    /// </summary>
    /// <exception cref="BadHttpRequestException">As <see cref="ReadAsync"/>.</exception>
    public static async Task<(JsonDocument? Document, JsonBodyError? Error)> ReadDocumentAsync(HttpRequest request, CancellationToken cancellationToken) =>
        ParseDocument(await ReadBodyAsync(request, cancellationToken));

    /// <summary>Parses <paramref name="utf8"/> by the policy: the node, or why it was refused.</summary>
    public static (JsonNode? Node, JsonBodyError? Error) Parse(ReadOnlyMemory<byte> utf8)
    {
        var (document, error) = ParseDocument(utf8);
        if (document is null)
        {
            return (null, error);
        }
        document.Dispose();
        return (JsonNode.Parse(WithoutByteOrderMark(utf8).Span, documentOptions: DocumentOptions), null);
    }

    private static (JsonDocument? Document, JsonBodyError? Error) ParseDocument(ReadOnlyMemory<byte> utf8)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(WithoutByteOrderMark(utf8), DocumentOptions);
        }
        catch (JsonException e)
        {
            return (null, new JsonBodyError("body", $"The body is not valid JSON ({e.Message})."));
        }
        if (Check(document.RootElement, []) is { } error)
        {
            document.Dispose();
            return (null, error);
        }
        return (document, null);
    }

    private static ReadOnlyMemory<byte> WithoutByteOrderMark(ReadOnlyMemory<byte> utf8) =>
        utf8.Span.StartsWith("\uFEFF"u8) ? utf8[3..] : utf8;

    private static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        try
        {
            await request.Body.CopyToAsync(buffer, cancellationToken);
        }
        catch (IOException e) when (e is not BadHttpRequestException)
        {
            // Kestrel reports some malformed bodies as a bare IOException (a chunk size past 2^31:
            // "Bad chunk size data", an OverflowException inside): still the caller's bad request,
            // not the gateway failing.
            throw new BadHttpRequestException($"The request body could not be read: {e.Message}", StatusCodes.Status400BadRequest, e);
        }
        // The buffer outlives the stream: disposing a MemoryStream does not release its array.
        return new ReadOnlyMemory<byte>(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>
    /// The error of a body the serializer refused (<see cref="Configure"/>), naming the member at
    /// <see cref="JsonException.Path"/>.
    /// </summary>
    public static JsonBodyError Describe(JsonException exception)
    {
        var path = string.IsNullOrEmpty(exception.Path) ? "$" : exception.Path;
        // An invalid string surfaces as a conversion failure whose inner exception says why.
        var reason = exception.InnerException is InvalidOperationException invalid ? invalid.Message : exception.Message;
        return new JsonBodyError(FieldOf(path), $"The body could not be read at {path}: {reason}");
    }

    /// <summary>
    /// Checks a body the serializer bound as a <see cref="JsonElement"/> (which it does not check)
    /// by the policy: null, or why it is refused (a repeated member, a string that is not valid Unicode).
    /// </summary>
    public static JsonBodyError? Check(JsonElement root) => Check(root, []);

    // The path of an error is written only when there is one: a body that passes (nearly all)
    // costs no path strings. `at` holds the member names and array indexes down to `element`.
    private static JsonBodyError? Check(JsonElement element, List<(string? Name, int Index)> at)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var member in element.EnumerateObject())
                {
                    if (!TryReadName(member, out var name))
                    {
                        var path = PathOf(at);
                        return new JsonBodyError(FieldOf(path), $"A member name in the object at {path} is not valid Unicode (ill-formed UTF-8 or an unpaired surrogate escape; RFC 8259 §8).");
                    }
                    if (!names.Add(name))
                    {
                        var path = PathOf(at);
                        var memberPath = $"{path}.{name}";
                        return new JsonBodyError(FieldOf(memberPath), $"'{name}' appears more than once in the object at {path} ({memberPath}); a member may be given once (RFC 8259 §4).");
                    }
                    at.Add((name, 0));
                    var error = Check(member.Value, at);
                    at.RemoveAt(at.Count - 1);
                    if (error is not null)
                    {
                        return error;
                    }
                }
                return null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    at.Add((null, index++));
                    var error = Check(item, at);
                    at.RemoveAt(at.Count - 1);
                    if (error is not null)
                    {
                        return error;
                    }
                }
                return null;
            case JsonValueKind.String:
                if (TryReadString(element))
                {
                    return null;
                }
                var stringPath = PathOf(at);
                return new JsonBodyError(FieldOf(stringPath), $"The string at {stringPath} is not valid Unicode (ill-formed UTF-8 or an unpaired surrogate escape; RFC 8259 §8); it is refused rather than altered.");
            default:
                return null;
        }
    }

    private static string PathOf(List<(string? Name, int Index)> at)
    {
        var path = new StringBuilder("$");
        foreach (var (name, index) in at)
        {
            path.Append(name is null ? $"[{index}]" : $".{name}");
        }
        return path.ToString();
    }

    // System.Text.Json decodes strictly when asked for a string, and says so by throwing.
    private static bool TryReadName(JsonProperty member, out string name)
    {
        try
        {
            name = member.Name;
            return true;
        }
        catch (InvalidOperationException)
        {
            name = "";
            return false;
        }
    }

    private static bool TryReadString(JsonElement element)
    {
        try
        {
            element.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static string FieldOf(string path) => path == "$" ? "body" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path[1..];
}
