using System.Text;
using Reka.Gateway.Infrastructure.Validation;

namespace Reka.Gateway.Tests.Infrastructure.Validation;

public sealed class StrictJsonTests
{
    [Theory]
    [InlineData("""{"a":[{"b":1},{"b":1,"b":2}]}""", "a[1].b", "'b' appears more than once in the object at $.a[1] ($.a[1].b)")]
    [InlineData("""{"a":{"list":["x","\ud800"]}}""", "a.list[1]", "The string at $.a.list[1] is not valid Unicode")]
    [InlineData("""{"\ud800":1}""", "body", "A member name in the object at $ is not valid Unicode")]
    [InlineData("""[[1],[2,{"c":"\udc00"}]]""", "[1][1].c", "The string at $[1][1].c is not valid Unicode")]
    public void Refusal_NamesTheMemberByItsPath(string body, string field, string detail)
    {
        var (node, error) = StrictJson.Parse(Encoding.UTF8.GetBytes(body));

        Assert.Null(node);
        Assert.NotNull(error);
        Assert.Equal(field, error.Field);
        Assert.StartsWith(detail, error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void AcceptedBody_IsReadWhole()
    {
        var (node, error) = StrictJson.Parse("""{"a":[{"b":1},{"b":"é"}],"c":{"d":null}}"""u8.ToArray());

        Assert.Null(error);
        Assert.Equal("""{"a":[{"b":1},{"b":"é"}],"c":{"d":null}}""", node!.ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }
}
