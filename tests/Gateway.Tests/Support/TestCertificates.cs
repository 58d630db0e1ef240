using System.Diagnostics;

namespace Reka.Gateway.Tests.Support;

/// <summary>
/// A private certificate authority and two certificates it signed, made with <c>openssl</c> in a
/// temporary folder: a server certificate for 127.0.0.1 and localhost, and a client certificate.
/// PEM files, as Redis and the gateway read them.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string directory) => Directory = directory;

    /// <summary>The folder holding the files.</summary>
    public string Directory { get; }

    public string CaCertificate => Path.Combine(Directory, "ca.crt");
    public string ServerCertificate => Path.Combine(Directory, "server.crt");
    public string ServerKey => Path.Combine(Directory, "server.key");
    public string ClientCertificate => Path.Combine(Directory, "client.crt");
    public string ClientKey => Path.Combine(Directory, "client.key");

    /// <summary>Makes the authority and both certificates (RSA 2048, valid one day).</summary>
    public static async Task<TestCertificates> CreateAsync()
    {
        var certificates = new TestCertificates(System.IO.Directory.CreateTempSubdirectory("gateway-tls-").FullName);
        var d = certificates.Directory;
        await OpenSslAsync(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=Gateway Test CA",
            "-keyout", "ca.key", "-out", "ca.crt");
        await File.WriteAllTextAsync(Path.Combine(d, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
        await File.WriteAllTextAsync(Path.Combine(d, "client.ext"), "extendedKeyUsage=clientAuth\n");
        foreach (var (name, subject) in new[] { ("server", "/CN=127.0.0.1"), ("client", "/CN=reka-gateway") })
        {
            await OpenSslAsync(d, "req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", $"{name}.key", "-out", $"{name}.csr");
            await OpenSslAsync(d, "x509", "-req", "-in", $"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", "1", "-extfile", $"{name}.ext", "-out", $"{name}.crt");
        }
        return certificates;
    }

    private static async Task OpenSslAsync(string directory, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo("openssl", arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"openssl {string.Join(' ', arguments)} failed: {await error}");
        }
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
