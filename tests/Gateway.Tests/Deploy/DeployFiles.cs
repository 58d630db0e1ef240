using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Reka.Gateway.Tests.Deploy;

/// <summary>One YAML document of a file in <c>deploy/</c>.</summary>
/// <param name="File">The file's name, e.g. <c>redis.yaml</c>.</param>
/// <param name="Document">The document, as JSON nodes (see <see cref="DeployFiles.ToJson"/>).</param>
public sealed record YamlDocument(string File, JsonObject Document)
{
    /// <summary>Its <c>kind</c>, if it is a Kubernetes resource.</summary>
    public string? Kind => Document["kind"]?.GetValue<string>();

    /// <summary>Its <c>metadata.name</c>, if it has one.</summary>
    public string? Name => Document["metadata"]?["name"]?.GetValue<string>();
}

/// <summary>
/// The deployment artifacts: every YAML document of <c>deploy/</c>, parsed with YamlDotNet (several
/// documents per file allowed), and the repository's <c>Dockerfile</c>, split into stages.
/// </summary>
public static partial class DeployFiles
{
    /// <summary>The repository's top folder.</summary>
    public static string Root => WebhookVerifier.RepositoryRoot();

    /// <summary>The <c>deploy/</c> folder.</summary>
    public static string Folder => Path.Combine(Root, "deploy");

    /// <summary>Every file of <c>deploy/</c> with its documents, in name order.</summary>
    public static IReadOnlyList<(string File, IReadOnlyList<JsonObject> Documents)> Files() =>
        [.. Directory.GetFiles(Folder).Order(StringComparer.Ordinal).Select(path => (Path.GetFileName(path), Parse(File.ReadAllText(path), path)))];

    /// <summary>Every document of <c>deploy/</c>.</summary>
    public static IReadOnlyList<YamlDocument> Documents() =>
        [.. Files().SelectMany(file => file.Documents.Select(document => new YamlDocument(file.File, document)))];

    /// <summary>The Kubernetes resources: documents with an <c>apiVersion</c> and a <c>kind</c>, but not the Kustomization.</summary>
    public static IReadOnlyList<YamlDocument> Resources() =>
        [.. Documents().Where(d => d.Document["apiVersion"] is not null && d.Kind is not null && d.Kind != "Kustomization")];

    /// <summary>The only resource of <paramref name="kind"/> (named <paramref name="name"/> when given).</summary>
    public static JsonObject Resource(string kind, string? name = null) =>
        Assert.Single(Resources(), r => r.Kind == kind && (name is null || r.Name == name)).Document;

    /// <summary>The compose file of the local stack.</summary>
    public static JsonObject Compose() => Assert.Single(Parse(File.ReadAllText(Path.Combine(Folder, "docker-compose.yml")), "docker-compose.yml"));

    /// <summary>The gateway's Deployment.</summary>
    public static JsonObject Deployment => Resource("Deployment", "reka-gateway");

    /// <summary>The gateway's pod template.</summary>
    public static JsonObject PodTemplate => Deployment["spec"]!["template"]!.AsObject();

    /// <summary>The gateway's container.</summary>
    public static JsonObject GatewayContainer =>
        Assert.Single(PodTemplate["spec"]!["containers"]!.AsArray(), c => Text(c!["name"]) == "gateway")!.AsObject();

    /// <summary>Parses every document of a YAML text (an empty document is an error).</summary>
    public static IReadOnlyList<JsonObject> Parse(string yaml, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            Assert.Fail($"{source} is not valid YAML: {e.Message}");
        }
        return [.. stream.Documents.Select(d => ToJson(d.RootNode) as JsonObject
            ?? throw new Xunit.Sdk.XunitException($"{source}: every document must be a mapping"))];
    }

    /// <summary>
    /// A YAML node as JSON nodes, resolving plain scalars as Kubernetes' YAML reader does (YAML
    /// 1.1): null, booleans (<c>true</c>, <c>yes</c>, <c>on</c>...), integers and floats; quoted and
    /// block scalars stay strings. A duplicate key is an error.
    /// </summary>
    public static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(child =>
            KeyValuePair.Create(((YamlScalarNode)child.Key).Value ?? "", ToJson(child.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(ToJson)]),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new NotSupportedException(node.NodeType.ToString()),
    };

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(value);
        }
        if (value is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }
        if (YamlTrue().IsMatch(value))
        {
            return JsonValue.Create(true);
        }
        if (YamlFalse().IsMatch(value))
        {
            return JsonValue.Create(false);
        }
        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return integer is >= int.MinValue and <= int.MaxValue ? JsonValue.Create((int)integer) : JsonValue.Create(integer);
        }
        if (YamlFloat().IsMatch(value))
        {
            return JsonValue.Create(double.Parse(value, CultureInfo.InvariantCulture));
        }
        return JsonValue.Create(value);
    }

    /// <summary>A node's string value (fails on any other kind of node).</summary>
    public static string Text(JsonNode? node)
    {
        Assert.NotNull(node);
        return node.GetValue<string>();
    }

    /// <summary>A node's integer value (fails on any other kind of node, a quoted number included).</summary>
    public static int Integer(JsonNode? node)
    {
        Assert.NotNull(node);
        return node.GetValue<int>();
    }

    /// <summary>A node's boolean value (fails on any other kind of node).</summary>
    public static bool Boolean(JsonNode? node)
    {
        Assert.NotNull(node);
        return node.GetValue<bool>();
    }

    /// <summary>A mapping of strings as a dictionary (e.g. labels, a selector's matchLabels).</summary>
    public static Dictionary<string, string> Strings(JsonNode? node)
    {
        Assert.NotNull(node);
        return node.AsObject().ToDictionary(p => p.Key, p => Text(p.Value));
    }

    /// <summary>Whether every label of <paramref name="selector"/> is on <paramref name="labels"/>.</summary>
    public static bool Selects(IReadOnlyDictionary<string, string> selector, IReadOnlyDictionary<string, string> labels) =>
        selector.Count > 0 && selector.All(s => labels.TryGetValue(s.Key, out var value) && value == s.Value);

    /// <summary>The Dockerfile's stages, in order.</summary>
    public static IReadOnlyList<DockerStage> DockerStages()
    {
        var stages = new List<DockerStage>();
        foreach (var instruction in DockerInstructions())
        {
            if (instruction.Keyword == "FROM")
            {
                var words = instruction.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var name = words.Length == 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? words[2] : null;
                stages.Add(new DockerStage(words[0], name, new List<DockerInstruction>()));
            }
            else
            {
                Assert.True(stages.Count > 0, $"Dockerfile: {instruction.Keyword} before the first FROM");
                ((List<DockerInstruction>)stages[^1].Instructions).Add(instruction);
            }
        }
        return stages;
    }

    /// <summary>The Dockerfile's instructions, continuation lines joined, comments dropped.</summary>
    public static IReadOnlyList<DockerInstruction> DockerInstructions()
    {
        var instructions = new List<DockerInstruction>();
        var current = "";
        foreach (var raw in File.ReadAllLines(Path.Combine(Root, "Dockerfile")))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || (line.Length == 0 && current.Length == 0))
            {
                continue;
            }
            if (line.EndsWith('\\'))
            {
                current += line[..^1].TrimEnd() + " ";
                continue;
            }
            current += line;
            var space = current.IndexOf(' ');
            Assert.True(space > 0, $"Dockerfile: '{current}' has no arguments");
            instructions.Add(new DockerInstruction(current[..space].ToUpperInvariant(), current[(space + 1)..].Trim()));
            current = "";
        }
        Assert.True(current.Length == 0, "Dockerfile ends with a continuation line");
        return instructions;
    }

    [GeneratedRegex("^(y|Y|yes|Yes|YES|true|True|TRUE|on|On|ON)$")]
    private static partial Regex YamlTrue();

    [GeneratedRegex("^(n|N|no|No|NO|false|False|FALSE|off|Off|OFF)$")]
    private static partial Regex YamlFalse();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex YamlFloat();
}

/// <summary>One instruction of the Dockerfile.</summary>
/// <param name="Keyword">e.g. <c>RUN</c>.</param>
/// <param name="Arguments">The rest of the instruction, continuation lines joined.</param>
public sealed record DockerInstruction(string Keyword, string Arguments);

/// <summary>One stage of the Dockerfile.</summary>
/// <param name="Image">Its base image.</param>
/// <param name="Name">Its name (<c>AS name</c>), if any.</param>
/// <param name="Instructions">Its instructions after <c>FROM</c>.</param>
public sealed record DockerStage(string Image, string? Name, IReadOnlyList<DockerInstruction> Instructions)
{
    /// <summary>The arguments of every instruction <paramref name="keyword"/>.</summary>
    public IEnumerable<string> All(string keyword) => Instructions.Where(i => i.Keyword == keyword).Select(i => i.Arguments);

    /// <summary>The value this stage gives environment variable <paramref name="name"/> (last <c>ENV</c> wins).</summary>
    public string? Env(string name) => All("ENV")
        .Select(arguments => arguments.Split('=', 2))
        .Where(pair => pair.Length == 2 && pair[0].Trim() == name)
        .Select(pair => pair[1].Trim().Trim('"'))
        .LastOrDefault();
}
