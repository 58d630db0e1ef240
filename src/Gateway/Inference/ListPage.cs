using System.Buffers;
using System.Text;
using System.Text.Json;
using CommunityToolkit.HighPerformance.Buffers;

namespace Reka.Gateway.Inference;

/// <summary>An item of a list page: its bytes are the page's <c>[Start..End)</c>.</summary>
internal readonly record struct ListItem(int Start, int End, string? RequestId);

/// <summary>
/// The <c>items</c> of a list answer (<c>{items[], next_offset, has_more}</c>, REKA_API.md "list"),
/// read in one pass of a <see cref="Utf8JsonReader"/> rather than into a document: each item's
/// byte range and its <c>request_id</c>. A page written again without some items keeps every
/// other byte as upstream wrote it. Disposing returns the pooled item array.
/// </summary>
internal sealed class ListPage : IDisposable
{
    private ListItem[] _items = [];

    private ListPage()
    {
    }

    /// <summary>The items, in the page's order; empty when the page has no <c>items</c> array.</summary>
    public ReadOnlySpan<ListItem> Items => _items.AsSpan(0, Count);

    /// <summary>How many items the page holds.</summary>
    public int Count { get; private set; }

    // The items array's '[' and the offset just past its ']'.
    private int _arrayStart = -1;
    private int _arrayEnd = -1;

    /// <summary>
    /// Reads <paramref name="json"/>. A page that is not an object, or whose <c>items</c> is not an
    /// array, has no items. An item's <c>request_id</c> is null when it is not a string (or the
    /// item not an object); when an item names it twice, the last counts, as for JSON readers.
    /// </summary>
    /// <exception cref="JsonException">The page is not JSON, or it holds <c>items</c> twice (which ones the caller reads is not known).</exception>
    /// <exception cref="InvalidOperationException">A <c>request_id</c> is not valid UTF-8.</exception>
    public static ListPage Read(ReadOnlySpan<byte> json)
    {
        var page = new ListPage();
        try
        {
            page.ReadPage(json);
            return page;
        }
        catch
        {
            page.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes the page to <paramref name="output"/> with only the items <paramref name="keep"/>
    /// accepts (called with each item's index, in order).
    /// </summary>
    public void WriteKeeping<TState>(ReadOnlySpan<byte> json, IBufferWriter<byte> output, TState state, Func<TState, int, bool> keep)
    {
        output.Write(json[..(_arrayStart + 1)]);
        var first = true;
        for (var i = 0; i < Count; i++)
        {
            if (!keep(state, i))
            {
                continue;
            }
            if (!first)
            {
                output.Write(","u8);
            }
            output.Write(json[_items[i].Start.._items[i].End]);
            first = false;
        }
        output.Write("]"u8);
        output.Write(json[_arrayEnd..]);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_items.Length > 0)
        {
            ArrayPool<ListItem>.Shared.Return(_items, clearArray: true); // the ids are references
            _items = [];
        }
    }

    private void ReadPage(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return;
        }
        var seen = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isItems = reader.ValueTextEquals("items"u8);
            reader.Read();
            if (isItems && seen)
            {
                throw new JsonException("The list page holds 'items' twice.");
            }
            seen |= isItems;
            if (isItems && reader.TokenType == JsonTokenType.StartArray)
            {
                ReadItems(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }
        reader.Read(); // throws on anything after the page
    }

    private void ReadItems(ref Utf8JsonReader reader)
    {
        _arrayStart = (int)reader.TokenStartIndex;
        _items = ArrayPool<ListItem>.Shared.Rent(32);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var start = (int)reader.TokenStartIndex;
            string? requestId = null;
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                requestId = ReadRequestId(ref reader);
            }
            else
            {
                reader.Skip();
            }
            if (Count == _items.Length)
            {
                var larger = ArrayPool<ListItem>.Shared.Rent(Count * 2);
                Items.CopyTo(larger);
                ArrayPool<ListItem>.Shared.Return(_items, clearArray: true);
                _items = larger;
            }
            _items[Count++] = new(start, (int)reader.BytesConsumed, requestId);
        }
        _arrayEnd = (int)reader.BytesConsumed;
    }

    // The reader is on an item's '{'; it is left on its '}'.
    private static string? ReadRequestId(ref Utf8JsonReader reader)
    {
        string? requestId = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isRequestId = reader.ValueTextEquals("request_id"u8);
            reader.Read();
            if (isRequestId)
            {
                requestId = reader.TokenType == JsonTokenType.String ? ReadString(ref reader) : null;
            }
            reader.Skip();
        }
        return requestId;
    }

    // The ids of a page are mostly the same from call to call: each is read from the page's UTF-8
    // into a pool of strings (bounded), so a repeated id costs no new string. Ids are ASCII: any
    // other value (escaped, or not valid UTF-8, which only GetString refuses) is read by GetString.
    private static string? ReadString(ref Utf8JsonReader reader) =>
        !reader.ValueIsEscaped && Ascii.IsValid(reader.ValueSpan)
            ? StringPool.Shared.GetOrAdd(reader.ValueSpan, Encoding.ASCII)
            : reader.GetString();
}
