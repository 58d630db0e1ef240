namespace Reka.Simulator.Faults;

/// <summary>
/// The one random source behind every fault rate, seedable through <see cref="SimulatorOptions.Seed"/>
/// so that a test can replay the same sequence of outcomes.
/// </summary>
public sealed class SimulatorRandom(SimulatorOptions options)
{
    // A seeded Random is not thread safe, so it is used under a lock; Random.Shared needs none.
    private readonly Random? _seeded = options.Seed is { } seed ? new Random(seed) : null;

    /// <summary>
    /// True with probability <paramref name="rate"/> (0..1). Rates of 0 and 1 draw nothing, so a
    /// disabled fault never shifts a seeded sequence.
    /// </summary>
    public bool Chance(double rate)
    {
        if (rate <= 0) return false;
        if (rate >= 1) return true;
        if (_seeded is null) return Random.Shared.NextDouble() < rate;
        lock (_seeded) return _seeded.NextDouble() < rate;
    }
}
