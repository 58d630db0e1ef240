using Reka.Gateway.Proxy;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Reka.Gateway.Inference;

/// <summary>The forwarded routes of Reka's inference API and their transforms.</summary>
internal sealed class InferenceRoutes
{
    public InferenceRoutes(ProxyRouteFactory factory, JsonResponseTransform json, ResultCache cache, Submissions submissions)
    {
        // Answers that may carry upstream URLs are read whole to rewrite them, so they must come
        // uncompressed.
        static void AcceptIdentity(TransformBuilderContext context) => context.AddRequestHeaderRemove("Accept-Encoding");

        void CachedAnswers(TransformBuilderContext context)
        {
            AcceptIdentity(context);
            context.AddResponseTransform(MarkCacheMiss);
            context.AddResponseTransform(c => json.ApplyAsync(c, cache.StoreIfTerminalAsync));
        }

        Submit = factory.Create(ProxyRouteNames.Submit, context =>
        {
            AcceptIdentity(context);
            context.AddRequestTransform(BufferedRequestBody.ApplyAsync);
            context.AddResponseTransform(Submissions.NoteUpstreamStatus);
            context.AddResponseTransform(c => json.ApplyAsync(c, submissions.BindAcceptedAsync));
        });
        List = factory.Create(ProxyRouteNames.List, context =>
        {
            AcceptIdentity(context);
            // Reka's list is team-wide: a page the filter cannot read is not passed on.
            context.AddResponseTransform(c => json.ApplyAsync(c, cache.FilterListAsync, handleEvery2xx: true));
        });
        Status = factory.Create(ProxyRouteNames.Status, CachedAnswers);
        Result = factory.Create(ProxyRouteNames.Result, context =>
        {
            context.AddQueryRemoveKey("wait"); // the gateway's own parameter
            CachedAnswers(context);
        });
        Cancel = factory.Create(ProxyRouteNames.Cancel, context =>
        {
            AcceptIdentity(context);
            context.AddResponseTransform(c => json.ApplyAsync(c));
        });
        Models = factory.Create(ProxyRouteNames.Models);
        Chat = factory.Create(ProxyRouteNames.Chat);
    }

    /// <summary>Submit: <c>POST /v2/inference/{model}/{capability}</c>.</summary>
    public ProxyRoute Submit { get; }

    /// <summary>List: <c>GET /v2/inference/requests</c>.</summary>
    public ProxyRoute List { get; }

    /// <summary>Status: <c>GET /v2/inference/requests/{request_id}/status</c>.</summary>
    public ProxyRoute Status { get; }

    /// <summary>Result: <c>GET /v2/inference/requests/{request_id}</c>.</summary>
    public ProxyRoute Result { get; }

    /// <summary>Cancel: <c>POST /v2/inference/requests/{request_id}/cancel</c>.</summary>
    public ProxyRoute Cancel { get; }

    /// <summary>Models: <c>GET /v2/inference/models</c>.</summary>
    public ProxyRoute Models { get; }

    /// <summary>Chat: <c>POST /v2/inference/chat/completions</c>, server-sent events streamed through.</summary>
    public ProxyRoute Chat { get; }

    private static ValueTask MarkCacheMiss(ResponseTransformContext context)
    {
        context.HttpContext.Response.Headers[ResultCache.CacheHeader] = "MISS";
        return default;
    }
}
