using System.Text.Json;
using System.Text.Json.Serialization;

namespace Reka.Simulator.Chat;

/// <summary>The parts of an OpenAI chat completion request the simulator reads; other fields are ignored.</summary>
public sealed class ChatRequest
{
    public string? Model { get; set; }
    public List<ChatMessage>? Messages { get; set; }

    /// <summary>True to answer with server-sent <c>chat.completion.chunk</c> events.</summary>
    public bool Stream { get; set; }
}

/// <summary>One message; <c>content</c> is a string or a list of parts such as <c>{"type": "text", "text": ...}</c>.</summary>
public sealed class ChatMessage
{
    public string? Role { get; set; }
    public JsonElement Content { get; set; }
}

/// <summary>A non-streamed answer, <c>"object": "chat.completion"</c>.</summary>
/// <remarks>
/// <para><c>created</c>: Unix seconds.</para>
/// </remarks>
public sealed record ChatCompletion(
    string Id, string Object, long Created, string Model, IReadOnlyList<ChatChoice> Choices, ChatUsage Usage);

/// <summary>One choice of a <see cref="ChatCompletion"/>.</summary>
public sealed record ChatChoice(int Index, ChatReply Message, string FinishReason);

/// <summary>The assistant's message.</summary>
public sealed record ChatReply(string Role, string Content);

/// <summary>Token counts (whitespace-separated words stand in for tokens).</summary>
public sealed record ChatUsage(int PromptTokens, int CompletionTokens, int TotalTokens);

/// <summary>One server-sent event of a streamed answer, <c>"object": "chat.completion.chunk"</c>.</summary>
/// <remarks>
/// <para><c>created</c>: Unix seconds.</para>
/// </remarks>
public sealed record ChatCompletionChunk(
    string Id, string Object, long Created, string Model, IReadOnlyList<ChatChunkChoice> Choices);

/// <summary>One choice of a chunk; <c>finish_reason</c> is null until the last chunk.</summary>
public sealed record ChatChunkChoice(int Index, ChatDelta Delta, string? FinishReason);

/// <summary>What a chunk adds: the role first, then pieces of content; <c>{}</c> in the last chunk.</summary>
public sealed record ChatDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content);
