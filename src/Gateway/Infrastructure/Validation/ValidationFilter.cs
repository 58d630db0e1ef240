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
    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var arguments = context.Arguments;
        for (var i = 0; i < arguments.Count; i++)
        {
            // Synchronous: the gateway's validators have no asynchronous rule (FluentValidation
            // throws AsyncValidatorInvokedSynchronouslyException should one be added, and the
            // endpoint tests would fail), and a synchronous check spares every call a task and an
            // async state machine.
            if (arguments[i] is T value && validator.Validate(value) is { IsValid: false } result)
            {
                var errors = result.ToDictionary();
                return ValueTask.FromResult<object?>(TypedResults.ValidationProblem(errors,
                    detail: $"Invalid {string.Join(", ", errors.Keys)}: {result.Errors[0].ErrorMessage}" + (result.Errors.Count > 1 ? $" (and {result.Errors.Count - 1} more)" : "")));
            }
        }
        return next(context);
    }
}

/// <summary>Endpoint conventions for validation.</summary>
internal static class ValidationEndpointExtensions
{
    /// <summary>Validates the <typeparamref name="T"/> argument and documents the 400 answer.</summary>
    public static RouteHandlerBuilder WithValidation<T>(this RouteHandlerBuilder builder) =>
        builder.AddEndpointFilter<ValidationFilter<T>>().ProducesValidationProblem();
}
