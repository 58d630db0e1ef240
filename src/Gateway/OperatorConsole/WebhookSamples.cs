using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Reka.Gateway.Events;
using Reka.Gateway.Infrastructure.StandardWebhooks;

namespace Reka.Gateway.OperatorConsole;

/// <summary>One event type as the event types page shows it.</summary>
/// <param name="Type">The event's <c>type</c>.</param>
/// <param name="When">When it is sent.</param>
/// <param name="Body">A sample delivery body: a real <see cref="InferenceEvent"/>, serialized as deliveries serialize it.</param>
/// <param name="Headers">The Standard Webhooks headers of that body signed with <see cref="WebhookSamples.SampleSecret"/>.</param>
internal sealed record EventTypeSample(string Type, string When, string Body, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// Samples of the events deliveries carry, built from the event record itself
/// (<see cref="InferenceEvent"/>, its ids and types from <see cref="InferenceEvent.IdFor"/> and
/// <see cref="InferenceEvent.TypeFor"/>) and signed by the gateway's own signer, so that the page
/// cannot drift from what subscribers receive: a sample verifies with the Standard Webhooks
/// libraries and the sample secret.
/// </summary>
internal static class WebhookSamples
{
    /// <summary>A secret for the samples only (it signs nothing real): <c>whsec_</c> + base64 of 32 bytes.</summary>
    public static readonly string SampleSecret = "whsec_" + Convert.ToBase64String(Encoding.ASCII.GetBytes("sample-secret-of-the-console-32b"));

    private static readonly DateTimeOffset Created = new(2026, 1, 15, 9, 30, 0, TimeSpan.Zero);

    /// <summary>What each field of an event means, by its JSON name.</summary>
    public static readonly IReadOnlyDictionary<string, string> Fields = new Dictionary<string, string>
    {
        ["id"] = "Event id, evt_ + 24 hex characters: the same for a request and status on every replica and every retry (also the webhook-id header). Deduplicate on it.",
        ["type"] = "inference.completed, inference.failed, inference.cancelled (inference. + the status, for a status Reka adds).",
        ["request_id"] = "Reka's request id.",
        ["status"] = "The terminal status, as Reka gives it.",
        ["endpoint_id"] = "{model}/{capability}, as submitted.",
        ["model_id"] = "The model segment.",
        ["capability"] = "The capability segment.",
        ["result"] = "The request as Reka's result call answers it, confirmed with Reka after its callback: input, output (video_url and its expiry for video models), error.",
        ["occurred_at"] = "When the gateway confirmed the outcome with Reka.",
        ["client"] = "The gateway client that submitted the request (null when it was submitted around the gateway).",
    };

    /// <summary>The three event types, each with a sample body and its signed headers.</summary>
    public static IReadOnlyList<EventTypeSample> All { get; } =
    [
        Sample("COMPLETED", "The request finished and its result is ready: for video models, result.output.video_url (valid until video_url_expires_at).",
            new JsonObject
            {
                ["video_url"] = "https://cdn.example.invalid/9b2f6c1e-3d4a-4f7e-8a51-0c2b7d9e4f10.mp4",
                ["video_url_expires_at"] = Stamp(Created.AddHours(24).AddSeconds(95)),
                ["duration_seconds"] = 5.0,
                ["width"] = 1280,
                ["height"] = 720,
            }, null),
        Sample("FAILED", "The request failed: result.error says why.", null,
            new JsonObject { ["type"] = "generation_failed", ["message"] = "The model could not generate a video for this input." }),
        Sample("CANCELLED", "The request was cancelled (POST /v2/inference/requests/{id}/cancel) before it finished.", null, null),
    ];

    private static EventTypeSample Sample(string status, string when, JsonObject? output, JsonObject? error)
    {
        const string requestId = "9b2f6c1e-3d4a-4f7e-8a51-0c2b7d9e4f10";
        const string endpoint = "sora-2-pro/image-to-video";
        var ended = Created.AddSeconds(95);
        var result = new JsonObject
        {
            ["request_id"] = requestId,
            ["status"] = status,
            ["endpoint_id"] = endpoint,
            ["model_id"] = "sora-2-pro",
            ["capability"] = "image-to-video",
            ["created_at"] = Stamp(Created),
            ["started_at"] = status == "CANCELLED" ? null : Stamp(Created.AddSeconds(4)),
            ["completed_at"] = Stamp(ended),
            ["input"] = new JsonObject { ["prompt"] = "a red fox in snow", ["image_url"] = "https://images.example.invalid/fox.jpg" },
            ["output"] = output,
            ["error"] = error,
        };
        var e = new InferenceEvent(InferenceEvent.IdFor(requestId, status), InferenceEvent.TypeFor(status), requestId, status, endpoint, "sora-2-pro",
            "image-to-video", result, ended.AddMilliseconds(180), "video-pipeline");
        var body = e.ToJson();
        var timestamp = ended.AddSeconds(1).ToUnixTimeSeconds();
        return new EventTypeSample(e.Type, when, Encoding.UTF8.GetString(body), new Dictionary<string, string>
        {
            [WebhookSigner.IdHeader] = e.Id,
            [WebhookSigner.TimestampHeader] = timestamp.ToString(CultureInfo.InvariantCulture),
            [WebhookSigner.SignatureHeader] = WebhookSigner.Sign(SampleSecret, e.Id, timestamp, body),
        });
    }

    private static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Verifying a delivery with the Standard Webhooks library of each language.</summary>
    public static readonly IReadOnlyList<(string Language, string Install, string Code)> Snippets =
    [
        ("Node.js", "npm install standardwebhooks", """
            import { Webhook } from "standardwebhooks";

            const webhook = new Webhook(process.env.REKA_WEBHOOK_SECRET); // the whsec_... secret
            // rawBody: the body exactly as received (string or Buffer), before any JSON parsing.
            const event = webhook.verify(rawBody, {
              "webhook-id": req.headers["webhook-id"],
              "webhook-timestamp": req.headers["webhook-timestamp"],
              "webhook-signature": req.headers["webhook-signature"],
            }); // throws when the signature or the timestamp is wrong
            if (event.type === "inference.completed") {
              console.log(event.request_id, event.result.output?.video_url);
            }
            """),
        ("Python", "pip install standardwebhooks", """
            import os
            from standardwebhooks.webhooks import Webhook

            webhook = Webhook(os.environ["REKA_WEBHOOK_SECRET"])  # the whsec_... secret
            # body: the raw bytes as received; headers: the request's headers.
            event = webhook.verify(body, dict(headers))  # raises when the signature or the timestamp is wrong
            if event["type"] == "inference.completed":
                print(event["request_id"], event["result"]["output"]["video_url"])
            """),
        ("C#", "dotnet add package StandardWebhooks", """
            using System.Text.Json;
            using StandardWebhooks;

            var webhook = new StandardWebhook(Environment.GetEnvironmentVariable("REKA_WEBHOOK_SECRET")!); // whsec_...
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();           // the raw body, before any JSON parsing
            webhook.Verify(body, request.Headers);               // throws WebhookVerificationException when wrong
            using var e = JsonDocument.Parse(body);
            if (e.RootElement.GetProperty("type").GetString() == "inference.completed") { /* ... */ }
            """),
    ];
}
