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
/// The gateway's own calls to Reka (fetching a request after its callback), with the team key,
/// over the same connection pool and retries as forwarded calls.
/// </summary>
internal sealed class UpstreamClient(UpstreamInvoker invoker, IOptions<UpstreamOptions> options)
{
    private readonly string _baseUrl = options.Value.BaseUrl.TrimEnd('/');

    /// <summary>GETs <paramref name="pathAndQuery"/> (e.g. <c>/v2/inference/requests/{id}</c>).</summary>
    /// <exception cref="HttpRequestException">Upstream could not be reached.</exception>
    /// <exception cref="OperationCanceledException">No answer within <paramref name="timeout"/>, or canceled.</exception>
    public async Task<UpstreamAnswer> GetAsync(string pathAndQuery, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, _baseUrl + pathAndQuery);
        request.Headers.Add("X-Api-Key", options.Value.ApiKey);
        using var response = await invoker.SendAsync(request, deadline.Token);
        return new UpstreamAnswer((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync(deadline.Token));
    }
}
