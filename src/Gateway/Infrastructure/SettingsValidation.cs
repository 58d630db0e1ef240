using Microsoft.Extensions.Options;
using Reka.Gateway.Infrastructure.Queues;

namespace Reka.Gateway.Infrastructure;

/// <summary>
/// Start-up checks of a settings section: each failed rule names its setting, and together they
/// stop start-up with one line (<see cref="GatewayApplication.HasValidConfiguration"/>).
/// </summary>
public abstract class SettingsValidator<T> : IValidateOptions<T> where T : class
{
    /// <summary>The rules: each yields a failure message naming the setting.</summary>
    protected abstract IEnumerable<string> Check(T settings);

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var failures = Check(options).ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>The failures of a queue worker's settings under <paramref name="section"/>.</summary>
    protected static IEnumerable<string> CheckWorker(QueueWorkerOptions worker, string section)
    {
        if (worker.MaxConcurrency < 1 || worker.LeaseSeconds <= 0 || worker.PollSeconds <= 0 || worker.DrainSeconds < 0)
        {
            yield return $"{section} needs MaxConcurrency >= 1, LeaseSeconds > 0, PollSeconds > 0 and DrainSeconds >= 0.";
        }
    }
}

/// <summary>Registration of a section with its checks.</summary>
public static class SettingsValidationExtensions
{
    /// <summary>Binds <typeparamref name="T"/> to <paramref name="section"/>, checked at start-up by <typeparamref name="TValidator"/>.</summary>
    public static OptionsBuilder<T> AddCheckedOptions<T, TValidator>(this IServiceCollection services, string section)
        where T : class
        where TValidator : class, IValidateOptions<T>
    {
        services.AddSingleton<IValidateOptions<T>, TValidator>();
        return services.AddOptions<T>().BindConfiguration(section).ValidateOnStart();
    }
}
