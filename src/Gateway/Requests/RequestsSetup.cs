using Reka.Gateway.Infrastructure;

namespace Reka.Gateway.Requests;

/// <summary>Registers the records of requests and the settings of their cached answers.</summary>
internal static class RequestsSetup
{
    /// <summary>Registers <see cref="RequestRecords"/> and <c>Cache</c> settings.</summary>
    public static WebApplicationBuilder AddRequests(this WebApplicationBuilder builder)
    {
        builder.Services.AddSettings<CacheOptions, CacheOptionsValidator>(CacheOptions.SectionName);
        builder.Services.AddSingleton<RequestRecords>();
        return builder;
    }
}
