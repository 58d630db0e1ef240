using FluentValidation;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Requests;

namespace Reka.Gateway.Inference;

/// <summary>Registers the inference routes and their validators.</summary>
internal static class InferenceSetup
{
    public static WebApplicationBuilder AddInference(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<InferenceRoutes>();
        services.AddSingleton<ResultCache>();
        services.AddSingleton<Submissions>();
        services.AddSingleton<SubmissionChecks>();
        services.AddSingleton(sp => sp.GetRequiredService<SubmissionChecks>().Queue);
        services.AddHostedService<SubmissionCheckWorker>();
        services.AddSingleton<IValidator<InferenceResultQuery>, InferenceResultQueryValidator>();
        services.AddSingleton<IValidator<SubmitInferenceRequest>, SubmitInferenceValidator>();
        services.AddSingleton<IValidator<ListInferenceQuery>, ListInferenceQueryValidator>();
        services.AddSingleton<IValidator<InferenceRequestRoute>, InferenceRequestRouteValidator>();
        services.AddSingleton<IValidator<InferenceStatusQuery>, InferenceStatusQueryValidator>();
        return builder;
    }
}
