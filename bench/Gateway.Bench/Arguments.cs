namespace Reka.Gateway.Bench;

/// <summary><c>--name value</c> command-line arguments.</summary>
public sealed class Arguments(Dictionary<string, string> values)
{
    /// <summary>Parses <c>--name value</c> pairs.</summary>
    public static Arguments Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i].TrimStart('-')] = args[i + 1];
        }
        return new Arguments(values);
    }

    /// <summary>A required argument.</summary>
    public string this[string name] => values.TryGetValue(name, out var value) ? value : throw new ArgumentException($"--{name} is required");

    /// <summary>An optional argument, or null.</summary>
    public string? Optional(string name) => values.GetValueOrDefault(name);

    /// <summary>A required integer argument.</summary>
    public int Int(string name) => int.Parse(this[name], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>An optional integer argument.</summary>
    public int Int(string name, int fallback) => values.ContainsKey(name) ? Int(name) : fallback;
}
