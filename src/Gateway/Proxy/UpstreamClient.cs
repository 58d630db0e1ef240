using Microsoft.Extensions.Options;

namespace Reka.Gateway.Proxy;

/// <summary>An answer from upstream to one of the gateway's own calls.</summary>
/// <param name="Status">HTTP status.</param>
/// <param name="Body">The body.</param>
internal sealed record UpstreamAnswer(int Status, byte[] Body)
{
    /// <summary>Whether the status is 2xx.</summary>
    public bool IsSuccess => Status is >= 200 and < 300;
}

/// <summary>
/// The gateway's own calls to Reka (fetching a request after its callback, sending a submit again
/// under its <c>Idempotency-Key</c>), with the team key, over the same connection pool and retries
/// as forwarded calls.
/// </summary>
internal sealed class UpstreamClient(UpstreamInvoker invoker, IOptions<UpstreamOptions> options)
{
    private readonly string _baseUrl = options.Value.BaseUrl.TrimEnd('/');

    /// <summary>GETs <paramref name="pathAndQuery"/> (e.g. <c>/v2/inference/requests/{id}</c>).</summary>
    /// <exception cref="HttpRequestException">Upstream could not be reached.</exception>
    /// <exception cref="OperationCanceledException">No answer within <paramref name="timeout"/>, or canceled.</exception>
    public Task<UpstreamAnswer> GetAsync(string pathAndQuery, TimeSpan timeout, CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Get, _baseUrl + pathAndQuery), timeout, cancellationToken);

    /// <summary>
    /// POSTs the JSON <paramref name="body"/> to <paramref name="pathAndQuery"/> with
    /// <paramref name="idempotencyKey"/>: for a submit, Reka answers the original 202 again when
    /// the key was seen ("Submit" reference page: no second enqueue, no second charge).
    /// </summary>
    /// <exception cref="HttpRequestException">Upstream could not be reached.</exception>
    /// <exception cref="OperationCanceledException">No answer within <paramref name="timeout"/>, or canceled.</exception>
    public Task<UpstreamAnswer> PostJsonAsync(string pathAndQuery, byte[] body, string idempotencyKey, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _baseUrl + pathAndQuery)
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } },
        };
        request.Headers.Add(UpstreamRetryHandler.IdempotencyKeyHeader, idempotencyKey);
        return SendAsync(request, timeout, cancellationToken);
    }

    private async Task<UpstreamAnswer> SendAsync(HttpRequestMessage request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var message = request;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        message.Headers.Add("X-Api-Key", options.Value.ApiKey);
        using var response = await invoker.SendAsync(message, deadline.Token);
        return new UpstreamAnswer((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync(deadline.Token));
    }
}
