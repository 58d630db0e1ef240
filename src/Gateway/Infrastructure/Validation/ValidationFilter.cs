using FluentValidation;

namespace Reka.Gateway.Infrastructure.Validation;

/// <summary>
/// Validates the endpoint's <typeparamref name="T"/> argument with FluentValidation before the
/// handler runs, so invalid input never reaches upstream (no quota spent). Invalid input gets
/// 400 problem details (RFC 9457) whose <c>errors</c> name each bad field.
/// </summary>
internal sealed class ValidationFilter<T>(IValidator<T> validator) : IEndpointFilter
{
    /// <inheritdoc />
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        foreach (var argument in context.Arguments)
        {
            if (argument is not T value)
            {
                continue;
            }
            var result = await validator.ValidateAsync(value, context.HttpContext.RequestAborted);
            if (!result.IsValid)
            {
                var errors = result.ToDictionary();
                return TypedResults.ValidationProblem(errors,
                    detail: $"Invalid {string.Join(", ", errors.Keys)}: {result.Errors[0].ErrorMessage}" + (result.Errors.Count > 1 ? $" (and {result.Errors.Count - 1} more)" : ""));
            }
        }
        return await next(context);
    }
}

/// <summary>Endpoint conventions for validation.</summary>
internal static class ValidationEndpointExtensions
{
    /// <summary>Validates the <typeparamref name="T"/> argument and documents the 400 answer.</summary>
    public static RouteHandlerBuilder WithValidation<T>(this RouteHandlerBuilder builder) =>
        builder.AddEndpointFilter<ValidationFilter<T>>().ProducesValidationProblem();
}
