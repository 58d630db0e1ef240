using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Reka.Gateway.Infrastructure;

/// <summary>
/// Settings sections: each options type binds to its section and is checked at start-up by its
/// <see cref="OptionsValidatorAttribute"/> validator (DataAnnotations on each setting, and
/// <see cref="System.ComponentModel.DataAnnotations.IValidatableObject"/> for the rules that span
/// settings). Failures read as settings (<c>Redis:QueuePartitions</c>) so that start-up can stop
/// with one line naming them (<see cref="GatewayApplication.HasValidConfiguration"/>).
/// </summary>
internal static partial class Settings
{
    // The generated validators name a setting by its type and members (RedisOptions.QueuePartitions).
    private static readonly ConcurrentDictionary<string, string> SectionsByType = new(StringComparer.Ordinal);

    /// <summary>Binds <typeparamref name="T"/> to <paramref name="section"/>, checked at start-up by <typeparamref name="TValidator"/>.</summary>
    public static OptionsBuilder<T> AddSettings<T, TValidator>(this IServiceCollection services, string section)
        where T : class
        where TValidator : class, IValidateOptions<T>
    {
        SectionsByType[typeof(T).Name] = section;
        services.AddSingleton<IValidateOptions<T>, TValidator>();
        return services.AddOptions<T>().BindConfiguration(section).ValidateOnStart();
    }

    /// <summary>
    /// A validation failure as a sentence naming the setting: <c>QueuePartitions: The field
    /// RedisOptions.QueuePartitions must be between 1 and 256.</c> becomes <c>The field
    /// Redis:QueuePartitions must be between 1 and 256.</c>
    /// </summary>
    public static string Describe(string failure)
    {
        failure = MemberPrefix().Replace(failure, "");
        return TypeMember().Replace(failure, match => SectionsByType.TryGetValue(match.Groups[1].Value, out var section)
            ? section + ":" + match.Groups[2].Value.Replace('.', ':')
            : match.Value);
    }

    [GeneratedRegex(@"^[A-Za-z_][\w.\[\]]*: ")]
    private static partial Regex MemberPrefix();

    [GeneratedRegex(@"\b(\w+Options)\.([\w.\[\]]+\w)")]
    private static partial Regex TypeMember();
}
