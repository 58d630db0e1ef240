using System.Globalization;
using System.Reflection;
using Reka.Gateway.Clients;
using Reka.Gateway.Delivery;
using Reka.Gateway.Inference;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Proxy;
using Reka.Gateway.Webhooks;
using Reka.Gateway.Requests;
using Reka.Gateway.Subscriptions;

namespace Reka.Gateway.Tests.Deploy;

/// <summary>
/// Whether an environment variable names a setting the gateway reads: <c>A__B__C</c> is the
/// setting <c>A:B:C</c>, looked up by reflection in the options type bound to section <c>A</c>
/// (names case-insensitive, dictionary levels take any key, list levels a numeric index, and the
/// path must end on a value, not a section).
/// </summary>
public static class SettingNames
{
    /// <summary>The gateway's sections and the options types bound to each (a section may feed several).</summary>
    public static readonly IReadOnlyDictionary<string, Type[]> Sections = new Dictionary<string, Type[]>(StringComparer.OrdinalIgnoreCase)
    {
        [GatewayOptions.SectionName] = [typeof(GatewayOptions)],
        [UpstreamOptions.SectionName] = [typeof(UpstreamOptions)],
        [ProxyOptions.SectionName] = [typeof(ProxyOptions)],
        [RateLimitingOptions.SectionName] = [typeof(RateLimitingOptions)],
        [ClientsOptions.SectionName] = [typeof(ClientsOptions)],
        [RedisOptions.SectionName] = [typeof(RedisOptions)],
        [WebhooksOptions.SectionName] = [typeof(WebhooksOptions), typeof(SubscriberUrlOptions)],
        [CacheOptions.SectionName] = [typeof(CacheOptions)],
        [DeliveryOptions.SectionName] = [typeof(DeliveryOptions)],
        [Reka.Gateway.Usage.UsageOptions.SectionName] = [typeof(Reka.Gateway.Usage.UsageOptions)],
        [Reka.Gateway.OperatorConsole.ConsoleOptions.SectionName] = [typeof(Reka.Gateway.OperatorConsole.ConsoleOptions)],
    };

    /// <summary>Prefixes of variables read by .NET, ASP.NET Core or OpenTelemetry rather than by the gateway's options.</summary>
    public static readonly IReadOnlyList<string> PlatformPrefixes = ["ASPNETCORE_", "DOTNET_", "OTEL_"];

    /// <summary>Why <paramref name="variable"/> is not a setting of the gateway; null when it is one.</summary>
    public static string? Problem(string variable)
    {
        if (PlatformPrefixes.Any(prefix => variable.StartsWith(prefix, StringComparison.Ordinal))
            || variable == UpstreamOptions.ApiKeyEnvironmentVariable)
        {
            return null;
        }
        var path = variable.Split("__");
        if (!Sections.TryGetValue(path[0], out var types))
        {
            return $"{variable}: '{path[0]}' is not a section of the gateway ({string.Join(", ", Sections.Keys)})";
        }
        var problems = types.Select(type => Problem(variable, path, type)).ToList();
        return problems.Contains(null) ? null : problems[0];
    }

    private static string? Problem(string variable, string[] path, Type type)
    {
        for (var i = 1; i < path.Length; i++)
        {
            var segment = path[i];
            var at = string.Join(':', path[..i]);
            if (segment.Length == 0)
            {
                return $"{variable}: an empty name below {at}";
            }
            if (DictionaryValueType(type) is { } value)
            {
                type = value;
            }
            else if (ListItemType(type) is { } item)
            {
                if (!int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    return $"{variable}: {at} is a list; its items are 0, 1, 2..., not '{segment}'";
                }
                type = item;
            }
            else if (IsValue(type))
            {
                return $"{variable}: {at} is a value, it has no '{segment}'";
            }
            else
            {
                var property = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                    .FirstOrDefault(p => p.Name.Equals(segment, StringComparison.OrdinalIgnoreCase) && p.GetIndexParameters().Length == 0);
                if (property is not { SetMethod.IsPublic: true })
                {
                    return $"{variable}: {type.Name} ({at}) has no setting '{segment}'";
                }
                type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            }
        }
        return IsValue(type) ? null : $"{variable}: {string.Join(':', path)} is a section ({type.Name}), not a value";
    }

    private static bool IsValue(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
        || type == typeof(DateTime) || type == typeof(DateTimeOffset) || type == typeof(Guid) || type == typeof(Uri);

    private static Type? DictionaryValueType(Type type) =>
        Generic(type, typeof(IDictionary<,>)) is { } dictionary && dictionary.GetGenericArguments()[0] == typeof(string)
            ? dictionary.GetGenericArguments()[1]
            : null;

    private static Type? ListItemType(Type type) =>
        type.IsArray ? type.GetElementType() : IsValue(type) ? null : Generic(type, typeof(IEnumerable<>))?.GetGenericArguments()[0];

    private static Type? Generic(Type type, Type definition) =>
        (type.IsInterface ? [type, .. type.GetInterfaces()] : type.GetInterfaces())
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == definition);
}
