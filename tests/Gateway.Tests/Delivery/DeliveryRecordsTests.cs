using System.Text;
using Reka.Gateway.Delivery;

namespace Reka.Gateway.Tests.Delivery;

/// <summary>How a delivery's attempts are stored in its Redis record, and read back, in the format of today and of records written before.</summary>
public sealed class DeliveryRecordsTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 2, 0, 18, 13, 942, TimeSpan.Zero);

    private static AttemptOutcome Outcome(DeliveryAttempt attempt) => new(attempt, DeliveryStatus.Succeeded, null, 0);

    [Theory]
    [InlineData(204, 165.2, AttemptResult.Succeeded, null, null)]
    [InlineData(200, 29999.9, AttemptResult.Succeeded, null, null)]
    [InlineData(200, 3.2, AttemptResult.Succeeded, null, "{\"ok\":true}")] // quotes escaped as \", not \u0022
    [InlineData(503, 2.1, AttemptResult.Failed, "HTTP 503", null)]
    public void AFirstAttemptAnswered_FitsInRedisListpackValue(int status, double durationMs, AttemptResult outcome, string? error, string? responseStart)
    {
        var attempt = new DeliveryAttempt(1, Start.AddTicks(9768), status, durationMs, outcome, error, responseStart);

        var stored = DeliveryFields.AttemptsAfter(null, Outcome(attempt));

        // hash-max-listpack-value, Redis's default: a longer value turns the whole record into a hash table.
        Assert.InRange(Encoding.UTF8.GetByteCount(stored), 1, 64);
        Assert.Equal([attempt], DeliveryFields.ReadAttempts(stored));
    }

    [Fact]
    public void Attempts_RoundTrip_WithEveryField_InOrder()
    {
        DeliveryAttempt[] attempts =
        [
            new(1, Start, 500, 12.5, AttemptResult.Failed, "HTTP 500", "{\"error\":\"down \\\"now\\\"\"}"),
            new(2, Start.AddSeconds(30).AddTicks(1), null, 0, AttemptResult.Skipped, "Not sent: the URL names a host not allowed."),
            new(3, Start.AddMinutes(5), 200, 3.25, AttemptResult.Succeeded, null, "ok: é ✓ 😀"),
            new(4, Start.AddMinutes(6), 410, 1, AttemptResult.Gone, null),
        ];

        string? stored = null;
        foreach (var attempt in attempts)
        {
            stored = DeliveryFields.AttemptsAfter(stored, Outcome(attempt));
        }

        Assert.Equal(attempts, DeliveryFields.ReadAttempts(stored));
    }

    [Fact]
    public void ARecordWrittenBefore_IsRead_AndItsAttemptsKeptWhenOneIsAdded()
    {
        // The attempts as builds before this format stored them: JSON objects.
        const string before = """[{"attempt":1,"at":"2026-12-02T00:18:13.9429768+00:00","status_code":503,"duration_ms":2.1,"outcome":"failed","error":"HTTP 503","response_start":null}]""";
        var earlier = new DeliveryAttempt(1, new DateTimeOffset(2026, 12, 2, 0, 18, 13, TimeSpan.Zero).AddTicks(9429768), 503, 2.1, AttemptResult.Failed, "HTTP 503");
        var retry = new DeliveryAttempt(2, Start.AddMinutes(1), 204, 4.5, AttemptResult.Succeeded, null);

        Assert.Equal([earlier], DeliveryFields.ReadAttempts(before));
        Assert.Equal([earlier, retry], DeliveryFields.ReadAttempts(DeliveryFields.AttemptsAfter(before, Outcome(retry))));
    }

    [Fact]
    public void NoAttemptsYet_ReadsAsNone()
    {
        Assert.Empty(DeliveryFields.ReadAttempts(null));
        Assert.Empty(DeliveryFields.ReadAttempts("[]")); // as the fan-out creates a record
    }
}
