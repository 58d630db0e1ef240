namespace Reka.Simulator.Faults;

/// <summary>The queue of scripted faults, consumed first-in first-out by matching API calls.</summary>
public sealed class FaultPlan
{
    private readonly List<PendingFault> _pending = [];

    // Read without the lock so the common case, no scripted faults, costs one volatile read.
    private volatile int _pendingCount;

    /// <summary>Queues <paramref name="fault"/> and answers how many faulty answers are now pending.</summary>
    public int Add(ScriptedFault fault)
    {
        lock (_pending)
        {
            _pending.Add(new PendingFault(fault) { Remaining = fault.Count });
            return _pendingCount = _pending.Sum(p => p.Remaining);
        }
    }

    /// <summary>Drops every pending fault.</summary>
    public void Clear()
    {
        lock (_pending)
        {
            _pending.Clear();
            _pendingCount = 0;
        }
    }

    /// <summary>Takes one use of the first fault that matches the call, if any.</summary>
    public bool TryTake(string method, string path, out ScriptedFault? fault)
    {
        fault = null;
        if (_pendingCount == 0) return false;
        lock (_pending)
        {
            var index = _pending.FindIndex(p => p.Fault.Matches(method, path));
            if (index < 0) return false;
            var pending = _pending[index];
            if (--pending.Remaining == 0) _pending.RemoveAt(index);
            _pendingCount--;
            fault = pending.Fault;
            return true;
        }
    }

    private sealed class PendingFault(ScriptedFault fault)
    {
        public ScriptedFault Fault { get; } = fault;
        public int Remaining { get; set; }
    }
}
