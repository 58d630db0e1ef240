using Reka.Gateway.OperatorConsole.Health;

namespace Reka.Gateway.OperatorConsole.Pages;

/// <summary>Health (admin clients): Redis and Reka reachability, queue depths and oldest due jobs, the last hour's cache hit ratio and delivery success rate.</summary>
internal sealed class HealthModel(HealthFigures figures, TimeProvider time) : ConsolePage
{
    public override string Title => "Health";

    public HealthReport? Report { get; private set; }

    public DateTimeOffset ReadAt { get; private set; }

    public async Task OnGetAsync(CancellationToken cancellationToken)
    {
        ReadAt = time.GetUtcNow();
        Report = await figures.ReadAsync(cancellationToken);
    }
}
