using System.Diagnostics;

namespace Reka.Gateway.Tests.Support;

/// <summary>
/// Verifies a delivery with the npm libraries subscribers use (<c>standardwebhooks</c> and
/// <c>svix</c>), by running <c>tests/Gateway.Tests/webhook-verifier/verify.mjs</c> with Node.
/// Its packages are installed by <c>scripts/test.sh</c> (<c>npm ci</c>); missing ones fail the test.
/// </summary>
public static class WebhookVerifier
{
    /// <summary>Returns the event id both libraries read from the verified payload.</summary>
    /// <exception cref="Xunit.Sdk.XunitException">Either library rejects the delivery.</exception>
    public static Task<(string StandardWebhooks, string Svix)> VerifyAsync(ReceivedDelivery delivery, string secret) =>
        VerifyAsync(delivery.Headers, delivery.Body, secret);

    /// <summary>
    /// Verifies a body and its headers as received; <paramref name="at"/> (Unix seconds) is the
    /// libraries' now, for a sample signed at a fixed time (the current time when null).
    /// </summary>
    /// <exception cref="Xunit.Sdk.XunitException">Either library rejects the delivery.</exception>
    public static async Task<(string StandardWebhooks, string Svix)> VerifyAsync(IReadOnlyDictionary<string, string> headers, string body, string secret, long? at = null)
    {
        var folder = Path.Combine(RepositoryRoot(), "tests", "Gateway.Tests", "webhook-verifier");
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules", "standardwebhooks")),
            $"npm packages missing in {folder}: run scripts/test.sh or `npm ci` there.");
        var start = new ProcessStartInfo("node", ["verify.mjs"])
        {
            WorkingDirectory = folder,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var node = Process.Start(start)!;
        await node.StandardInput.WriteAsync(JsonSerializer.Serialize(new
        {
            secret,
            headers = headers.Where(h => h.Key.StartsWith("webhook-")).ToDictionary(),
            body,
            at,
        }));
        node.StandardInput.Close();
        var output = await node.StandardOutput.ReadToEndAsync();
        var errors = await node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync();
        Assert.True(node.ExitCode == 0, $"verify.mjs rejected the delivery: {output} {errors}");
        var result = JsonDocument.Parse(output).RootElement;
        return (result.GetProperty("standardwebhooks").GetString()!, result.GetProperty("svix").GetString()!);
    }

    /// <summary>The repository's top folder (the one holding Gateway.sln).</summary>
    public static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Gateway.sln")))
            {
                return folder.FullName;
            }
        }
        throw new InvalidOperationException("Gateway.sln not found above " + AppContext.BaseDirectory);
    }
}
