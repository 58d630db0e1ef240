using CommunityToolkit.HighPerformance.Buffers;
using Reka.Gateway.Inference;

namespace Reka.Gateway.Tests.Inference;

public sealed class ListPageTests
{
    private const string Page = """{"next_offset":2,"items":[{"request_id":"r-a","n":1},{"request_id":"r-b","input":{"request_id":"r-x"}},{"request_id":"r-c","n":[3,{"x":3}]}],"has_more":true}""";

    [Fact]
    public void Read_FindsEachItemsBytesAndItsOwnRequestId_NotOneNestedInIt()
    {
        var json = Encoding.UTF8.GetBytes(Page);
        using var page = ListPage.Read(json);

        Assert.Equal(["r-a", "r-b", "r-c"], page.Items.ToArray().Select(item => item.RequestId));
        Assert.Equal(
            ["""{"request_id":"r-a","n":1}""", """{"request_id":"r-b","input":{"request_id":"r-x"}}""", """{"request_id":"r-c","n":[3,{"x":3}]}"""],
            page.Items.ToArray().Select(item => Encoding.UTF8.GetString(json[item.Start..item.End])));
    }

    [Theory]
    [InlineData(new[] { true, true, true }, """[{"request_id":"r-a","n":1},{"request_id":"r-b","input":{"request_id":"r-x"}},{"request_id":"r-c","n":[3,{"x":3}]}]""")]
    [InlineData(new[] { false, true, false }, """[{"request_id":"r-b","input":{"request_id":"r-x"}}]""")]
    [InlineData(new[] { true, false, true }, """[{"request_id":"r-a","n":1},{"request_id":"r-c","n":[3,{"x":3}]}]""")]
    [InlineData(new[] { false, false, false }, "[]")]
    public void WriteKeeping_LeavesOutTheDroppedItems_AndEveryOtherByteAsItWas(bool[] keep, string items)
    {
        var json = Encoding.UTF8.GetBytes(Page);
        using var page = ListPage.Read(json);
        using var output = new ArrayPoolBufferWriter<byte>();

        page.WriteKeeping(json, output, keep, static (keep, i) => keep[i]);

        Assert.Equal("""{"next_offset":2,"items":""" + items + ""","has_more":true}""", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void WriteKeeping_OfAnIndentedPage_IsValidJson()
    {
        var json = Encoding.UTF8.GetBytes("""
            {
              "items": [
                { "request_id": "r-a" } ,
                { "request_id": "r-b" }
              ] ,
              "has_more": false
            }
            """);
        using var page = ListPage.Read(json);
        using var output = new ArrayPoolBufferWriter<byte>();

        page.WriteKeeping(json, output, 0, static (_, i) => i == 1);

        var root = JsonDocument.Parse(output.WrittenMemory).RootElement;
        Assert.Equal(["r-b"], root.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("request_id").GetString()));
        Assert.False(root.GetProperty("has_more").GetBoolean());
    }

    [Fact]
    public void Read_OfAPageLargerThanThePooledStart_KeepsEveryItem()
    {
        var ids = Enumerable.Range(0, 150).Select(i => $"r-{i}").ToArray();
        var json = JsonSerializer.SerializeToUtf8Bytes(new { items = ids.Select(id => new { request_id = id }) });
        using var page = ListPage.Read(json);

        Assert.Equal(ids, page.Items.ToArray().Select(item => item.RequestId));
    }

    [Theory]
    [InlineData("""{"items":[{"request_id":"\u0072-a"}]}""", "r-a")] // escaped: read unescaped
    [InlineData("""{"items":[{"request_id":42}]}""", null)]
    [InlineData("""{"items":[{"n":1}]}""", null)]
    [InlineData("""{"items":["r-a"]}""", null)] // not an object
    [InlineData("""{"items":[{"request_id":"r-a","request_id":"r-b"}]}""", "r-b")] // the last counts, as for JSON readers
    [InlineData("""{"items":[{"request_id":"r-a","request_id":null}]}""", null)]
    public void Read_RequestIdOfAnItem(string json, string? requestId)
    {
        using var page = ListPage.Read(Encoding.UTF8.GetBytes(json));

        Assert.Equal(requestId, Assert.Single(page.Items.ToArray()).RequestId);
    }

    [Theory]
    [InlineData("""[{"request_id":"r-a"}]""")]
    [InlineData("""{"items":null,"has_more":false}""")]
    [InlineData("""{"items":[]}""")]
    [InlineData("""{"data":[{"request_id":"r-a"}]}""")]
    public void Read_OfAPageWithoutItems_FindsNone(string json)
    {
        using var page = ListPage.Read(Encoding.UTF8.GetBytes(json));

        Assert.Equal(0, page.Count);
    }

    [Theory]
    [InlineData("""{"items":[{"request_id":"r-a"}],"items":[]}""")] // which one a caller reads is not known
    [InlineData("""{"items":[],"items":[{"request_id":"r-a"}]}""")]
    [InlineData("""{"items":[{"request_id":"r-a"}]} {"items":[]}""")]
    [InlineData("""{"items":[{"request_id":"r-a"}""")]
    public void Read_OfAnAmbiguousOrBrokenPage_Throws(string json) =>
        Assert.ThrowsAny<JsonException>(() => ListPage.Read(Encoding.UTF8.GetBytes(json)).Dispose());

    [Fact]
    public void Read_OfARequestIdThatIsNotValidUtf8_Throws()
    {
        var json = Encoding.UTF8.GetBytes("""{"items":[{"request_id":"r-X"}]}""");
        json[Array.IndexOf(json, (byte)'X')] = 0xFF;

        Assert.Throws<InvalidOperationException>(() => ListPage.Read(json).Dispose());
    }
}
