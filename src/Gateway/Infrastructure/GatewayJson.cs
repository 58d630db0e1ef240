using System.Text.Json;
using System.Text.Json.Serialization;

namespace Reka.Gateway.Infrastructure;

/// <summary>How the gateway writes JSON of its own (records in Redis, events): snake_case names and enum values, as Reka writes its fields.</summary>
internal static class GatewayJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };
}
