using System.Collections.Concurrent;
using System.Globalization;

namespace Reka.Gateway.Tests.Hostile;

/// <summary>How one hostile case was answered.</summary>
/// <param name="Area">auth, bodies, paths and queries, callbacks, subscriptions, clients API, protocol, slow clients, faults.</param>
/// <param name="Name">The case.</param>
/// <param name="Status">The status answered (0: no answer, the connection was cut).</param>
/// <param name="ProblemDetails">Whether the answer was RFC 9457 problem details with a non-empty detail.</param>
/// <param name="KestrelRefusal">Whether Kestrel refused the request before any gateway code ran (an empty body, the connection closed).</param>
/// <param name="FromReka">Whether the answer was upstream's, passed through.</param>
/// <param name="Leaks">Secrets found in the answer or in the gateway's log lines.</param>
public sealed record CaseOutcome(string Area, string Name, int Status, bool ProblemDetails, bool KestrelRefusal, bool FromReka, int Leaks);

/// <summary>A fault test's count of requests: accepted (2xx), readable afterwards by their owner, delivered, lost.</summary>
public sealed record FaultOutcome(string Name, int Accepted, int Retrievable, int Delivered, int Lost, string Note);

/// <summary>A fuzz target's run: inputs tried, inputs that broke a property, seconds spent.</summary>
public sealed record FuzzOutcome(string Target, long Inputs, int Failures, double Seconds, string Seed);

/// <summary>
/// The hostile suite's figures, gathered from every case as it runs and written after each one
/// to <c>hostile/summary.md</c> in the test output (beside the test assembly), so that the last
/// test to finish leaves the totals of the whole run there.
/// </summary>
public static class HostileFigures
{
    private static readonly ConcurrentDictionary<string, CaseOutcome> Cases = new();
    private static readonly ConcurrentDictionary<string, FaultOutcome> Faults = new();
    private static readonly ConcurrentDictionary<string, FuzzOutcome> Fuzz = new();
    private static readonly Lock Gate = new();

    /// <summary>The area of the upstream fault tests' calls.</summary>
    public const string FaultsArea = "faults";

    /// <summary>The area of the slow clients' connections.</summary>
    public const string SlowClientsArea = "slow clients";

    /// <summary>Where the summary is written.</summary>
    public static string SummaryPath => Path.Combine(AppContext.BaseDirectory, "hostile", "summary.md");

    /// <summary>Records a case's outcome.</summary>
    public static void Record(CaseOutcome outcome)
    {
        Cases[$"{outcome.Area}/{outcome.Name}"] = outcome;
        Write();
    }

    /// <summary>Records a fault test's counts.</summary>
    public static void Record(FaultOutcome outcome)
    {
        Faults[outcome.Name] = outcome;
        Write();
    }

    /// <summary>Records a fuzz target's run.</summary>
    public static void Record(FuzzOutcome outcome)
    {
        Fuzz[outcome.Target] = outcome;
        Write();
    }

    /// <summary>The figures so far, as the summary file shows them.</summary>
    public static string Summary()
    {
        var cases = Cases.Values.ToList();
        var data = cases.Where(c => c.Area is not (FaultsArea or SlowClientsArea)).ToList();
        var byArea = data.GroupBy(c => c.Area).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} {g.Count()}");
        var clientErrors = cases.Where(c => c.Status is >= 400 and < 500).ToList();
        var serverErrors = cases.Where(c => c.Status >= 500).ToList();
        var lines = new List<string>
        {
            $"# Hostile suite figures ({DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC)",
            "",
            $"- hostile data cases: {data.Count} ({string.Join(", ", byArea)}); upstream fault calls: {cases.Count(c => c.Area == FaultsArea)}; " +
                $"slow-client connections: {cases.Count(c => c.Area == SlowClientsArea)}; answers checked in all: {cases.Count}",
            $"- answered 2xx/3xx: {cases.Count(c => c.Status is >= 200 and < 400)}; connection cut without an answer: {cases.Count(c => c.Status == 0)}",
            $"- answered 4xx: {clientErrors.Count}, of which problem details with a detail: {clientErrors.Count(c => c.ProblemDetails)}, " +
                $"refused by Kestrel before any gateway code (empty body, connection closed): {clientErrors.Count(c => c.KestrelRefusal)}, " +
                $"Reka's own passed through: {clientErrors.Count(c => c.FromReka)}",
            $"- answered 5xx: {serverErrors.Count}, of which the gateway's problem details (upstream down or silent): {serverErrors.Count(c => c.ProblemDetails)}, " +
                $"Reka's own passed through: {serverErrors.Count(c => c.FromReka)}, refused by Kestrel (505 for HTTP/1.2): {serverErrors.Count(c => c.KestrelRefusal)}, " +
                $"anything else: {serverErrors.Count(c => !c.ProblemDetails && !c.FromReka && !c.KestrelRefusal)}",
            $"- leaks found (a key, token or secret in an answer or a log line): {cases.Sum(c => c.Leaks)}",
            $"- requests lost (accepted 2xx, then not readable by their owner or not delivered): {Faults.Values.Sum(f => f.Lost)}",
        };
        if (!Faults.IsEmpty)
        {
            lines.Add("");
            lines.Add("| fault test | accepted | retrievable | delivered | lost | note |");
            lines.Add("| --- | ---: | ---: | ---: | ---: | --- |");
            lines.AddRange(Faults.Values.OrderBy(f => f.Name, StringComparer.Ordinal)
                .Select(f => $"| {f.Name} | {f.Accepted} | {f.Retrievable} | {f.Delivered} | {f.Lost} | {f.Note} |"));
        }
        if (!Fuzz.IsEmpty)
        {
            lines.Add("");
            lines.Add("| fuzz target | inputs | failures | seconds | seed |");
            lines.Add("| --- | ---: | ---: | ---: | --- |");
            lines.AddRange(Fuzz.Values.OrderBy(f => f.Target, StringComparer.Ordinal)
                .Select(f => $"| {f.Target} | {f.Inputs} | {f.Failures} | {f.Seconds.ToString("0.0", CultureInfo.InvariantCulture)} | {f.Seed} |"));
        }
        return string.Join('\n', lines) + "\n";
    }

    private static void Write()
    {
        lock (Gate)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(SummaryPath)!);
            File.WriteAllText(SummaryPath, Summary());
        }
    }
}
