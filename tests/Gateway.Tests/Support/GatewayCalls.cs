using Reka.Gateway.Infrastructure.Redis;
using StackExchange.Redis;

namespace Reka.Gateway.Tests.Support;

/// <summary>Calls the tests make often, on the gateway's public API.</summary>
public static class GatewayCalls
{
    /// <summary>Submits through the gateway and returns the request id (asserting 202).</summary>
    public static async Task<string> SubmitAsync(this HttpClient gateway, string? webhookUrl = null,
        string endpointId = "sora-2-pro/image-to-video", Action<HttpRequestMessage>? configure = null)
    {
        var body = new Dictionary<string, object> { ["input"] = new { prompt = "a red fox in snow" } };
        if (webhookUrl is not null)
        {
            body["webhook_url"] = webhookUrl;
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/inference/{endpointId}") { Content = JsonContent.Create(body) };
        configure?.Invoke(request);
        using var response = await gateway.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"submit answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("request_id").GetString()!;
    }

    /// <summary>Creates a subscription with an admin client; returns its id and secret.</summary>
    public static async Task<(string Id, string Secret)> SubscribeAsync(this HttpClient admin, string url, object? filter = null)
    {
        using var response = await admin.PostAsJsonAsync("/subscriptions", new { url, filter, description = "test subscriber" });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"subscribe answered {(int)response.StatusCode}: {text}");
        var body = JsonDocument.Parse(text).RootElement;
        return (body.GetProperty("id").GetString()!, body.GetProperty("secret").GetString()!);
    }

    /// <summary>POSTs <paramref name="body"/> to <c>/subscriptions</c> under <paramref name="idempotencyKey"/>; the response, unchecked.</summary>
    public static async Task<HttpResponseMessage> PostSubscriptionAsync(this HttpClient admin, object body, string idempotencyKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/subscriptions") { Content = JsonContent.Create(body) };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        return await admin.SendAsync(request);
    }

    /// <summary>A subscription's deliveries as the API lists them.</summary>
    public static async Task<JsonElement> DeliveriesAsync(this HttpClient admin, string subscriptionId) =>
        JsonDocument.Parse(await admin.GetStringAsync($"/subscriptions/{subscriptionId}/deliveries")).RootElement;

    /// <summary>
    /// Waits until the subscription has exactly one delivery and it is in <paramref name="status"/>
    /// (<c>pending</c>, <c>succeeded</c>, <c>dead</c>...) with at least <paramref name="attempts"/>
    /// attempts recorded; returns it.
    /// </summary>
    public static async Task<JsonElement> WaitForOnlyDeliveryAsync(this HttpClient admin, string subscriptionId, string status, int attempts = 1)
    {
        JsonElement delivery = default;
        await Eventually.ThatAsync(async () =>
        {
            var list = (await admin.DeliveriesAsync(subscriptionId)).EnumerateArray().ToList();
            delivery = list.Count == 1 ? list[0] : default;
            return list.Count == 1 && list[0].GetProperty("status").GetString() == status && list[0].GetProperty("attempts").GetArrayLength() >= attempts;
        }, 20, $"the only delivery to be {status} after {attempts} attempts");
        return delivery;
    }

    /// <summary>Every key the gateway wrote under its prefix.</summary>
    public static async Task<string[]> RedisKeysAsync(this GatewayHost gateway)
    {
        var redis = (RedisStore)gateway.Services.GetService(typeof(RedisStore))!;
        var keys = (RedisResult[])(await redis.Database.ScriptEvaluateAsync("return redis.call('KEYS', ARGV[1])", null, [redis.Prefix + "*"]))!;
        return [.. keys.Select(k => (string)k!)];
    }
}
