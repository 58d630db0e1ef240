using Microsoft.Extensions.Logging.Abstractions;
using Reka.Gateway.Proxy;

namespace Reka.Gateway.Tests.Proxy;

/// <summary>The retry handler on its own, around a stub of the connection, for cases a real upstream cannot time.</summary>
public sealed class UpstreamRetryHandlerTests
{
    [Fact]
    public async Task CallCanceledRightAfterA503_GetsThe503_NotACancellation_AndIsNotRetried()
    {
        using var canceled = new CancellationTokenSource();
        var calls = 0;
        using var handler = new UpstreamRetryHandler(new UpstreamRetryOptions(), NullLogger<UpstreamRetryHandler>.Instance)
        {
            InnerHandler = new StubHandler(() =>
            {
                calls++;
                canceled.Cancel(); // The caller goes away while the first answer is on its way back.
                return new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
            }),
        };
        using var invoker = new HttpMessageInvoker(handler);

        using var response = await invoker.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://upstream.test/v2/inference/models"), canceled.Token);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, calls);
    }

    private sealed class StubHandler(Func<HttpResponseMessage> respond) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(respond());
    }
}
