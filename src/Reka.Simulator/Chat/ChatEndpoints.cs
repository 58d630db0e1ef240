using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Reka.Simulator.Api;

namespace Reka.Simulator.Chat;

/// <summary>
/// <c>POST /v2/inference/chat/completions</c>, OpenAI-compatible: answers with an echo of the last
/// user message, whole or as server-sent events.
/// </summary>
public static class ChatEndpoints
{
    private const string DefaultModel = "qwen";

    /// <summary>Maps the chat route.</summary>
    public static IEndpointRouteBuilder MapChatEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v2/inference/chat/completions", Complete);
        return routes;
    }

    private static async Task<IResult> Complete(HttpContext context, SimulatorOptions options, TimeProvider time)
    {
        ChatRequest? chat;
        try
        {
            chat = await JsonSerializer.DeserializeAsync(context.Request.Body, SimulatorJsonContext.Default.ChatRequest, context.RequestAborted);
        }
        catch (JsonException)
        {
            return ApiErrors.Validation("The body must be a chat completion request.");
        }
        if (chat?.Messages is not { Count: > 0 } messages)
            return ApiErrors.Validation("messages must be a non-empty list.", "messages");

        var prompt = LastUserText(messages);
        var reply = $"Simulated answer to: {prompt}";
        var id = $"chatcmpl-{Guid.NewGuid():N}";
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var model = chat.Model ?? DefaultModel;
        if (chat.Stream)
        {
            await StreamAsync(context, id, created, model, reply, TimeSpan.FromMilliseconds(options.ChatChunkDelayMs), time);
            return Results.Empty;
        }

        var promptTokens = CountWords(messages);
        var completionTokens = CountWords(reply);
        var completion = new ChatCompletion(id, "chat.completion", created, model,
            [new ChatChoice(0, new ChatReply("assistant", reply), "stop")],
            new ChatUsage(promptTokens, completionTokens, promptTokens + completionTokens));
        return TypedResults.Json(completion, SimulatorJsonContext.Default.ChatCompletion);
    }

    // OpenAI's framing: a role chunk, one chunk per word, a chunk with finish_reason, then [DONE];
    // each event is flushed on its own so that clients really receive them one by one.
    private static async Task StreamAsync(HttpContext context, string id, long created, string model, string reply, TimeSpan delay, TimeProvider time)
    {
        var response = context.Response;
        var aborted = context.RequestAborted;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var deltas = new List<(ChatDelta Delta, string? FinishReason)> { (new ChatDelta("assistant", ""), null) };
        foreach (var word in SplitKeepingSpaces(reply)) deltas.Add((new ChatDelta(null, word), null));
        deltas.Add((new ChatDelta(null, null), "stop"));

        for (var index = 0; index < deltas.Count; index++)
        {
            if (index > 0 && delay > TimeSpan.Zero) await Task.Delay(delay, time, aborted);
            var (delta, finishReason) = deltas[index];
            var chunk = new ChatCompletionChunk(id, "chat.completion.chunk", created, model, [new ChatChunkChoice(0, delta, finishReason)]);
            var writer = response.BodyWriter;
            writer.Write("data: "u8);
            using (var json = new Utf8JsonWriter(writer))
                JsonSerializer.Serialize(json, chunk, SimulatorJsonContext.Default.ChatCompletionChunk);
            writer.Write("\n\n"u8);
            await writer.FlushAsync(aborted);
        }

        if (delay > TimeSpan.Zero) await Task.Delay(delay, time, aborted);
        response.BodyWriter.Write("data: [DONE]\n\n"u8);
        await response.BodyWriter.FlushAsync(aborted);
    }

    private static string LastUserText(List<ChatMessage> messages)
    {
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            if (messages[i].Role == "user") return TextOf(messages[i].Content);
        }
        return TextOf(messages[^1].Content);
    }

    private static string TextOf(JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String) return content.GetString()!;
        if (content.ValueKind != JsonValueKind.Array) return "";
        var text = new StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.Object
                && part.TryGetProperty("text", out var value)
                && value.ValueKind == JsonValueKind.String)
            {
                if (text.Length > 0) text.Append(' ');
                text.Append(value.GetString());
            }
        }
        return text.ToString();
    }

    private static int CountWords(List<ChatMessage> messages)
    {
        var words = 0;
        foreach (var message in messages) words += CountWords(TextOf(message.Content));
        return words;
    }

    private static int CountWords(string text) =>
        text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;

    private static IEnumerable<string> SplitKeepingSpaces(string text)
    {
        var start = 0;
        while (start < text.Length)
        {
            var space = text.IndexOf(' ', start);
            var end = space < 0 ? text.Length : space + 1;
            yield return text[start..end];
            start = end;
        }
    }
}
