using Xunit.Abstractions;
using static Reka.Gateway.Tests.Hostile.HostileCase;

namespace Reka.Gateway.Tests.Hostile;

/// <summary>
/// Request ids with line feeds, NULs, slashes and dot segments; query parameters out of range,
/// doubled or in other scripts' digits; forwarded paths that try to climb out of their prefix or
/// into <c>/v2/inference/</c>. Refused 400 (or 404 for what is no route) before anything reaches
/// Reka; what is valid reaches it on the path the caller meant.
/// </summary>
public sealed class PathAndQueryCases(HostileStack stack, ITestOutputHelper output) : IClassFixture<HostileStack>
{
    public static TheoryData<string> Names => [.. All.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public Task Case(string name) => stack.RunAsync("paths and queries", All.Single(c => c.Name == name), output);

    // An admin, so that valid ids are forwarded (an ordinary client gets 404 for requests it did not submit).
    private static HostileCase Admin(string name, string path, int status = 400, string? field = null) =>
        Get(name, path) with { Caller = Caller.Ops, Status = status, ReachesReka = status == 200, DetailNames = field };

    private static HostileCase Status(string name, string id, int status = 400) =>
        Admin($"status: {name}", $"/v2/inference/requests/{id}/status", status, status == 400 ? "request_id" : null);

    private static HostileCase Result(string name, string query, int status = 400) =>
        Admin($"result: {name}", $"/v2/inference/requests/req-1{query}", status, status == 400 ? "wait" : null);

    private static HostileCase List(string name, string query, string field, int status = 400) =>
        Admin($"list: {name}", $"/v2/inference/requests?{query}", status, status == 400 ? field : null);

    private static HostileCase Forwarded(string name, string path, int status = 400) =>
        Get($"passthrough: {name}", path) with { Status = status, ReachesReka = status == 200, DetailNames = status == 400 ? "path" : null };

    // Reka got the call on exactly this path and query.
    private static Action<HostileAnswer, IReadOnlyList<RecordedRequest>> ReachedAt(string pathAndQuery) =>
        (_, reached) => Assert.Equal(pathAndQuery, Assert.Single(reached).PathAndQuery);

    private static readonly HostileCase[] All =
    [
        Status("a valid id", "req-1", 200) with { Also = ReachedAt("/v2/inference/requests/req-1/status") },
        Status("an id of 128 characters, the longest", new string('a', 128), 200),
        Status("'~', '.', '_' and '-' in an id", "a~b.c_d-e", 200),
        Status("an id with a trailing %0A", "abc%0A"),
        Status("an id with a trailing %0D%0A", "abc%0D%0A"),
        Status("an id with a %00 (Kestrel refuses an encoded NUL in any path)", "abc%00def") with { KestrelRefusal = true, DetailNames = null },
        Status("an id with a space", "abc%20def"),
        Status("an id with a tab", "abc%09"),
        Status("an id with %2F", "abc%2Fdef"),
        Status("an id that is %2E%2E%2F..", "%2E%2E%2Fmodels"),
        Status("an id with %25", "abc%25"),
        Status("an id with %3F", "abc%3Fx=1"),
        Status("an id with %23", "abc%23x"),
        Status("an id with é", "caf%C3%A9"),
        Status("an id with a byte that is not UTF-8", "abc%FF"),
        Status("an id of 129 characters", new string('a', 129)),
        Status("an id of 10,000 characters (past Kestrel's 8 KiB request line)", new string('a', 10_000), 414) with { KestrelRefusal = true, DetailNames = null },
        Status("an id with braces (a Redis hash tag)", "%7Breq%7D"),
        Status("an id with an asterisk", "req*"),
        Status("an id with a quote", "req%22"),
        Status("an id with a colon", "gateway:req"),
        Status("an id with a backslash", "req%5C..%5Cx"),
        Admin("status: '..' as the id is a dot segment Kestrel removes", "/v2/inference/requests/%2E%2E/status", 404),
        Admin("status: '.' as the id is a dot segment Kestrel removes", "/v2/inference/requests/%2E/status", 200) with
        {
            Also = ReachedAt("/v2/inference/requests/status"),
        },
        Admin("status: with_logs=true", "/v2/inference/requests/req-1/status?with_logs=true", 200),
        Admin("status: with_logs=TRUE", "/v2/inference/requests/req-1/status?with_logs=TRUE", 200),
        Admin("status: with_logs=maybe", "/v2/inference/requests/req-1/status?with_logs=maybe", 400, "with_logs"),
        Admin("status: with_logs twice", "/v2/inference/requests/req-1/status?with_logs=true&with_logs=false", 400, "with_logs"),
        Admin("status: with_logs=true%0A", "/v2/inference/requests/req-1/status?with_logs=true%0A", 400, "with_logs"),
        Admin("status: a path past the route", "/v2/inference/requests/req-1/status/extra", 404),
        Result("wait=0", "?wait=0", 200),
        Result("wait=-1", "?wait=-1"),
        Result("wait=61", "?wait=61"),
        Result("wait=1.5", "?wait=1.5"),
        Result("wait=abc", "?wait=abc"),
        Result("wait=+1", "?wait=%2B1"),
        Result("wait=0x10", "?wait=0x10"),
        Result("wait with a line feed", "?wait=1%0A"),
        Result("wait in fullwidth digits", "?wait=%EF%BC%91"),
        Result("wait in Arabic-Indic digits", "?wait=%D9%A1"),
        Result("wait of 20 digits", "?wait=99999999999999999999"),
        Result("wait twice", "?wait=1&wait=2"),
        Admin("result: an id with a trailing %0A", "/v2/inference/requests/abc%0A", 400, "request_id"),
        new HostileCase("cancel: an id with a trailing %0A", "POST", "/v2/inference/requests/abc%0A/cancel") with { Caller = Caller.Ops, DetailNames = "request_id" },
        new HostileCase("cancel: an id of 129 characters", "POST", $"/v2/inference/requests/{new string('c', 129)}/cancel") with { Caller = Caller.Ops, DetailNames = "request_id" },
        new HostileCase("cancel: a valid id", "POST", "/v2/inference/requests/req-1/cancel") with { Caller = Caller.Ops, Status = 200, ReachesReka = true },
        Get("alice: status of a request she did not submit", "/v2/inference/requests/req-of-someone/status") with { Status = 404 },
        Get("alice: result of a request she did not submit", "/v2/inference/requests/req-of-someone") with { Status = 404 },
        List("limit=100", "limit=100", "limit", 200),
        List("limit=0", "limit=0", "limit"),
        List("limit=101", "limit=101", "limit"),
        List("limit=-1", "limit=-1", "limit"),
        List("limit=abc", "limit=abc", "limit"),
        List("limit=1e2", "limit=1e2", "limit"),
        List("limit with a leading space", "limit=%201", "limit"),
        List("limit with a trailing line feed", "limit=10%0A", "limit"),
        List("limit=+5", "limit=%2B5", "limit"),
        List("limit in fullwidth digits", "limit=%EF%BC%95", "limit"),
        List("limit twice", "limit=1&limit=2", "limit"),
        List("limit with a malformed escape", "limit=%ZZ", "limit"),
        List("offset=-1", "offset=-1", "offset"),
        List("offset=1.5", "offset=1.5", "offset"),
        List("offset past int", "offset=99999999999", "offset"),
        List("start, a date-time", "start=2024-01-15T09:30:00Z", "start", 200),
        List("start with an offset", "start=2024-01-15T09:30:00%2B05:30", "start", 200),
        List("start=0001-01-01", "start=0001-01-01", "start", 200),
        List("start, month 13", "start=2024-13-01", "start"),
        List("start, hour 25", "start=2024-01-01T25:00:00Z", "start"),
        List("start in words", "start=yesterday", "start"),
        List("start with a trailing line feed", "start=2024-01-01%0A", "start"),
        List("start as a Unix time", "start=1700000000", "start"),
        List("start past the last representable instant", "start=9999-12-31T23:59:59-14:00", "start"),
        List("end before start", "start=2024-02-01&end=2024-01-01", "end"),
        List("end equal to start", "start=2024-02-01&end=2024-02-01", "end"),
        List("end with a line feed", "end=2024-01-01T00:00:00Z%0A", "end"),
        List("unknown parameters are Reka's", "foo=bar&expand=payloads", "foo", 200) with { Also = ReachedAt("/v2/inference/requests?foo=bar&expand=payloads") },
        List("a query of 6 KB", "pad=" + new string('q', 6000), "pad", 200),
        Forwarded("a valid path", "/v2/videos", 200) with { Also = ReachedAt("/v2/videos") },
        Forwarded("a query with a line feed is Reka's", "/v2/videos?name=a%0Ab", 200),
        Forwarded("%2F between segments reaches Reka decoded", "/v2/videos%2Fv1", 200) with { Also = ReachedAt("/v2/videos/v1") },
        Forwarded("..%2F climbing out of /v1", "/v1/..%2F..%2Fadmin"),
        Forwarded("%2F..%2F climbing out of /v2/videos", "/v2/videos%2F..%2F..%2Fclients"),
        Forwarded("an empty segment", "/v2//videos"),
        Forwarded("%5C, which some servers read as '/'", "/v1/x%5C..%5C..%5Cv2%5Cinference%5Crequests%5Cabc%5Ccancel"),
        Forwarded("a trailing %2F (empty segment)", "/v1/images%2F"),
        Forwarded("into /v2/inference with %2F", "/v2/inference%2Fmodels"),
        Forwarded("into /v2/INFERENCE with %2f", "/v2/INFERENCE%2fmodels"),
        Forwarded("%2E%2E segments are removed by Kestrel", "/v2/videos/%2E%2E/%2E%2E/v1/images", 200) with { Also = ReachedAt("/v1/images") },
        Forwarded("%252E%252E, a dot segment encoded twice, into /v2/inference", "/v2/videos/%252E%252E/inference/requests/req-1"),
        Forwarded("%252e%252e into the list, unfiltered", "/v2/videos/%252e%252e/inference/requests?expand=payloads"),
        Forwarded(".%252e into a cancel", "/v1/.%252e/v2/inference/requests/req-1/cancel"),
        Forwarded("%25 anywhere in the path", "/v2/videos/50%25"),
        Forwarded("a prefix that is not forwarded", "/v3/videos", 404),
        Forwarded("the root", "/", 404),
        Get("an unknown inference route", "/v2/inference/unknown/route/here") with { Status = 404 },
        Get("DELETE on the list route", "/v2/inference/requests") with { Method = "DELETE", Status = 405 },
        Get("/swagger/../ normalized by Kestrel to the models route", "/swagger/../v2/inference/models") with
        {
            Status = 200, ReachesReka = true, Also = ReachedAt("/v2/inference/models"),
        },
        Get("a path of 6 KB", "/v2/videos/" + new string('v', 6000)) with { Status = 200, ReachesReka = true },
        Get("TRACE on a forwarded path", "/v2/videos") with { Method = "TRACE", Status = 405 },
        Get("a query key with no value", "/v2/inference/models?%") with { Status = 200, ReachesReka = true },
    ];
}
