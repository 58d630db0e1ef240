using Reka.Simulator;

var app = SimulatorApp.Create(args);
app.Run();

// Internal: the test project references both this and the gateway, whose Program is public.
internal partial class Program;
