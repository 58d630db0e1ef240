using Reka.Gateway.Bench;

// bench/run.sh drives this tool; see that script for what it measures.
return args.FirstOrDefault() switch
{
    "prepare-callbacks" => await PrepareCallbacks.RunAsync(Arguments.Parse(args[1..])),
    "fanout" => await FanOut.RunAsync(Arguments.Parse(args[1..])),
    "gc-snapshot" => await GcSnapshot.RunAsync(Arguments.Parse(args[1..])),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: Gateway.Bench prepare-callbacks --gateway URL --key KEY --simulator URL --count N --out FILE
               Gateway.Bench fanout --gateway URL --key ADMIN_KEY --pid GATEWAY_PID --callbacks FILE --rate PER_SECOND --seconds S --warmup S --subscriptions M [--rounds N] [--cpu NAME=PID,...]
               Gateway.Bench gc-snapshot --pid PID
        """);
    return 2;
}
