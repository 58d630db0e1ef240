using System.Text.RegularExpressions;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests;

/// <summary>
/// The README's "How it is built" is the rule for how src/Gateway's folders depend on each
/// other: its table lists, per folder, the folders it uses, and its picture puts every folder
/// on a row above those it uses. The code must match both exactly.
/// </summary>
public sealed partial class FolderDependencyTests
{
    private static readonly string Root = WebhookVerifier.RepositoryRoot();

    [Fact]
    public void EachFolderNamesExactlyTheFoldersTheReadmeTableAllowsIt()
    {
        var allowed = ReadmeTable();
        var actual = SourceDependencies();

        Assert.Equal(allowed.Keys.Order(), actual.Keys.Where(folder => folder != "(root)").Order());
        foreach (var (folder, uses) in allowed)
        {
            var extra = actual[folder].Except(uses).Select(used => $"{used} (in {Evidence(folder, used)})").ToList();
            Assert.True(extra.Count == 0, $"{folder}/ uses {string.Join(", ", extra)}, which the README's table does not allow it.");
            var stale = uses.Except(actual[folder]).ToList();
            Assert.True(stale.Count == 0, $"The README's table lets {folder}/ use {string.Join(", ", stale)}, which it no longer does.");
        }
    }

    [Fact]
    public void TheReadmePicturePutsEachFolderAboveEveryFolderItUses()
    {
        var rows = ReadmePictureRows();
        foreach (var (folder, uses) in ReadmeTable())
        {
            Assert.True(rows.ContainsKey(folder), $"{folder}/ is not in the README's picture.");
            foreach (var used in uses)
            {
                Assert.True(rows[used] > rows[folder], $"The README's picture puts {used} on a row not below {folder}, which uses it.");
            }
        }
    }

    private static string HowItIsBuilt()
    {
        var readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        var start = readme.IndexOf("## How it is built", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no 'How it is built' section.");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        return readme[start..(end < 0 ? readme.Length : end)];
    }

    // | `Folder/` | owns | A, B, C |
    private static Dictionary<string, HashSet<string>> ReadmeTable() =>
        TableRow().Matches(HowItIsBuilt()).ToDictionary(
            m => m.Groups["folder"].Value,
            m => m.Groups["uses"].Value.Trim() == "(nothing)"
                ? []
                : m.Groups["uses"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet());

    // Row number of each folder named in the picture (the fenced block that starts at Program.cs).
    private static Dictionary<string, int> ReadmePictureRows()
    {
        var section = HowItIsBuilt();
        var start = section.IndexOf("Program.cs            Add", StringComparison.Ordinal);
        Assert.True(start >= 0, "The README's 'How it is built' has no picture of the folders.");
        var picture = section[start..section.IndexOf("```", start, StringComparison.Ordinal)];
        var folders = ReadmeTable().Keys.ToHashSet();
        var rows = new Dictionary<string, int>();
        var lines = picture.Split('\n');
        for (var row = 0; row < lines.Length; row++)
        {
            foreach (Match word in Word().Matches(lines[row]))
            {
                if (folders.Contains(word.Value))
                {
                    rows.TryAdd(word.Value, row);
                }
            }
        }
        return rows;
    }

    // Folder -> the other folders whose namespace (Reka.Gateway.X) its files name.
    private static Dictionary<string, HashSet<string>> SourceDependencies()
    {
        var source = Path.Combine(Root, "src", "Gateway");
        var dependencies = new Dictionary<string, HashSet<string>>();
        foreach (var file in SourceFiles(source))
        {
            var folder = FolderOf(source, file);
            var uses = dependencies.TryGetValue(folder, out var known) ? known : dependencies[folder] = [];
            foreach (Match named in GatewayNamespace().Matches(WithoutStrings(File.ReadAllText(file))))
            {
                if (named.Groups[1].Value != folder)
                {
                    uses.Add(named.Groups[1].Value);
                }
            }
        }
        return dependencies;
    }

    private static string Evidence(string folder, string used)
    {
        var source = Path.Combine(Root, "src", "Gateway");
        return SourceFiles(source).Where(file => FolderOf(source, file) == folder
                && WithoutStrings(File.ReadAllText(file)).Contains($"Reka.Gateway.{used}", StringComparison.Ordinal))
            .Select(file => Path.GetRelativePath(source, file)).First();
    }

    private static IEnumerable<string> SourceFiles(string source) =>
        Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
            .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    private static string FolderOf(string source, string file)
    {
        var relative = Path.GetRelativePath(source, file);
        var separator = relative.IndexOf(Path.DirectorySeparatorChar);
        return separator < 0 ? "(root)" : relative[..separator];
    }

    // String literals and comments may name anything (log messages, docs); only code counts.
    private static string WithoutStrings(string code) => LineComment().Replace(StringLiteral().Replace(code, "\"\""), "");

    [GeneratedRegex(@"^\| `(?<folder>\w+)/` \|[^|]*\| (?<uses>[^|]+) \|$", RegexOptions.Multiline)]
    private static partial Regex TableRow();

    [GeneratedRegex(@"\b\w+\b")]
    private static partial Regex Word();

    [GeneratedRegex(@"Reka\.Gateway\.(\w+)")]
    private static partial Regex GatewayNamespace();

    [GeneratedRegex(@"""(?:[^""\\\n]|\\.)*""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"//.*$", RegexOptions.Multiline)]
    private static partial Regex LineComment();
}
