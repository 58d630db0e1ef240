using System.Net;
using Polly;
using Polly.Retry;

namespace Reka.Gateway.Proxy;

/// <summary>
/// Retries idempotent upstream calls with Polly: GETs and HEADs, and requests that carry an
/// <c>Idempotency-Key</c> with a body that can be sent again (Reka replays the original answer
/// for a reused key, "Submit" reference page). Retries on connection errors and on 502, 503
/// and 504, with exponential backoff and jitter (<see cref="UpstreamRetryOptions"/>); a
/// <c>Retry-After</c> longer than the largest delay is not waited for, the answer passes through.
/// </summary>
internal sealed class UpstreamRetryHandler : DelegatingHandler
{
    /// <summary>Header naming the idempotency key of a submit.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly TimeSpan _maxDelay;

    public UpstreamRetryHandler(UpstreamRetryOptions options, ILogger<UpstreamRetryHandler> logger)
    {
        _maxDelay = TimeSpan.FromSeconds(options.MaxDelaySeconds);
        _pipeline = options.MaxRetries <= 0
            ? ResiliencePipeline<HttpResponseMessage>.Empty
            : new ResiliencePipelineBuilder<HttpResponseMessage>()
                .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
                {
                    MaxRetryAttempts = options.MaxRetries,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromSeconds(options.BaseDelaySeconds),
                    MaxDelay = _maxDelay,
                    ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome)),
                    DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result)),
                    OnRetry = args =>
                    {
                        GatewayLog.RetryingUpstream(logger, args.AttemptNumber + 1,
                            args.Outcome.Result is { } response ? (int)response.StatusCode : 0,
                            args.Outcome.Exception?.GetType().Name, args.RetryDelay.TotalMilliseconds);
                        args.Outcome.Result?.Dispose();
                        return default;
                    },
                })
                .Build();
    }

    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        CanResend(request) ? SendWithRetriesAsync(request, cancellationToken) : base.SendAsync(request, cancellationToken);

    // The first attempt is made outside the pipeline, so that a call answered at once (nearly
    // all of them) costs no Polly context or state machines; one that should be retried hands
    // its outcome to the pipeline as its first attempt, which then waits and retries as usual.
    private async Task<HttpResponseMessage> SendWithRetriesAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Outcome<HttpResponseMessage> first;
        try
        {
            first = Outcome.FromResult(await base.SendAsync(request, cancellationToken));
        }
        catch (HttpRequestException e)
        {
            first = Outcome.FromException<HttpResponseMessage>(e);
        }
        if (!ShouldRetry(first))
        {
            first.ThrowIfException();
            return first.Result!;
        }

        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            var state = new RetryState(this, request, first);
            var outcome = await _pipeline.ExecuteOutcomeAsync(
                static async (context, state) =>
                {
                    var attempt = state.Attempts++ == 0 ? state.First : await state.Handler.SendOnceAsync(state.Request, context.CancellationToken);
                    state.MayHaveReachedUpstream |= !NeverSent(attempt.Exception);
                    return attempt;
                },
                context,
                state);
            // Canceled before the pipeline called back: it never took the first attempt's outcome,
            // which stands (a retry pipeline around that attempt returned it too), and is not left undisposed.
            if (state.Attempts == 0)
            {
                outcome = first;
            }
            // A last attempt that could not connect says nothing of an earlier one that was sent:
            // the call's outcome is not known (what a submit's quota is judged by).
            if (NeverSent(outcome.Exception) && state.MayHaveReachedUpstream)
            {
                throw new HttpRequestException(HttpRequestError.Unknown,
                    $"An earlier attempt may have reached upstream; the last could not connect ({outcome.Exception!.Message})", outcome.Exception);
            }
            outcome.ThrowIfException();
            return outcome.Result!;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async ValueTask<Outcome<HttpResponseMessage>> SendOnceAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return Outcome.FromResult(await base.SendAsync(request, cancellationToken));
        }
        catch (Exception e)
        {
            return Outcome.FromException<HttpResponseMessage>(e);
        }
    }

    private sealed class RetryState(UpstreamRetryHandler handler, HttpRequestMessage request, Outcome<HttpResponseMessage> first)
    {
        public UpstreamRetryHandler Handler { get; } = handler;
        public HttpRequestMessage Request { get; } = request;
        public Outcome<HttpResponseMessage> First { get; } = first;
        public int Attempts { get; set; }
        public bool MayHaveReachedUpstream { get; set; }
    }

    /// <summary>
    /// Whether <paramref name="exception"/> says the request never left: no connection could be
    /// made (refused, no such name, TLS failed).
    /// </summary>
    public static bool NeverSent(Exception? exception) => exception is HttpRequestException
    {
        HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError,
    };

    private static bool CanResend(HttpRequestMessage request)
    {
        if (request.Method == HttpMethod.Get || request.Method == HttpMethod.Head)
        {
            return request.Content is null;
        }
        // Only bodies the gateway buffered itself can be sent twice; streamed ones cannot.
        return request.Headers.Contains(IdempotencyKeyHeader) && BufferedRequestBody.TryMakeResendable(request);
    }

    private bool ShouldRetry(Outcome<HttpResponseMessage> outcome)
    {
        if (outcome.Exception is HttpRequestException)
        {
            return true;
        }
        if (outcome.Result is not { } response
            || response.StatusCode is not (HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout))
        {
            return false;
        }
        var retryAfter = RetryAfter(response);
        return retryAfter is null || retryAfter <= _maxDelay;
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage? response)
    {
        var header = response?.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }
        return header?.Date is { } date ? date - DateTimeOffset.UtcNow : null;
    }
}
