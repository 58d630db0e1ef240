namespace Reka.Gateway.OperatorConsole.Pages;

/// <summary>The event types subscribers receive, with a sample of each and how to verify it.</summary>
internal sealed class EventTypesModel : ConsolePage
{
    public override string Title => "Event types";

    public void OnGet()
    {
    }
}
