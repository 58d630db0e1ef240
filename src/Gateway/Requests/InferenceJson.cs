using System.Text.Json;

namespace Reka.Gateway.Requests;

/// <summary>Reads single fields of Reka's JSON answers without building a document.</summary>
internal static class InferenceJson
{
    /// <summary>The top-level string property <paramref name="name"/> of a JSON object, or null.</summary>
    public static string? ReadTopLevelString(ReadOnlySpan<byte> json, string name)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var match = reader.ValueTextEquals(name);
                reader.Read();
                if (match)
                {
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }
}
