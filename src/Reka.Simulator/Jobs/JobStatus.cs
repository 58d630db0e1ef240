namespace Reka.Simulator.Jobs;

/// <summary>
/// The lifecycle values the simulator uses. Reka does not publish its set; <c>IN_QUEUE</c>,
/// <c>IN_PROGRESS</c> and <c>COMPLETED</c> follow the queue design its docs show.
/// </summary>
public static class JobStatus
{
    /// <summary>Accepted, waiting for a worker.</summary>
    public const string InQueue = "IN_QUEUE";

    /// <summary>Running.</summary>
    public const string InProgress = "IN_PROGRESS";

    /// <summary>Ended with an output.</summary>
    public const string Completed = "COMPLETED";

    /// <summary>Ended with an error.</summary>
    public const string Failed = "FAILED";

    /// <summary>Ended by a cancel call.</summary>
    public const string Cancelled = "CANCELLED";

    /// <summary>True for the statuses a job never leaves.</summary>
    public static bool IsTerminal(string status) => status is Completed or Failed or Cancelled;
}
