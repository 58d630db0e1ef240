using System.Net;
using System.Text.RegularExpressions;
using Reka.Gateway.Tests.Support;

namespace Reka.Gateway.Tests.OperatorConsole;

/// <summary>
/// The console as a browser speaks to it, without a browser: cookies kept, redirects not followed
/// (so that the tests see them), forms posted with the antiforgery token their page carries.
/// </summary>
public sealed partial class ConsoleHttp : IDisposable
{
    private readonly HttpClient _http;

    public ConsoleHttp(GatewayHost gateway) : this(gateway.BaseAddress)
    {
    }

    /// <summary>A console client of the gateway at <paramref name="baseAddress"/>; its cookies go to every port of that host, as behind one load balancer.</summary>
    public ConsoleHttp(Uri baseAddress)
    {
        Cookies = new CookieContainer();
        _http = new HttpClient(new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false }) { BaseAddress = baseAddress };
    }

    public CookieContainer Cookies { get; }

    /// <summary>The session cookie, once signed in.</summary>
    public Cookie? Session => Cookies.GetAllCookies().FirstOrDefault(c => c.Name == "reka-console-session");

    public Task<HttpResponseMessage> GetAsync(string path) => _http.GetAsync(path);

    /// <summary>GETs <paramref name="path"/> as a stream (server-sent events): the answer once its headers are in.</summary>
    public Task<HttpResponseMessage> GetStreamingAsync(string path) => _http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);

    /// <summary>GETs <paramref name="path"/> with a gateway key in <c>X-Api-Key</c>, as an API call would.</summary>
    public Task<HttpResponseMessage> GetWithKeyAsync(string path, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("X-Api-Key", key);
        return _http.SendAsync(request);
    }

    /// <summary>The page's HTML, asserting 200.</summary>
    public async Task<string> PageAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        var html = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path} answered {(int)response.StatusCode}: {html[..Math.Min(html.Length, 500)]}");
        return html;
    }

    /// <summary>The antiforgery token of the first form of <paramref name="html"/>.</summary>
    public static string Token(string html) => TokenPattern().Match(html) is { Success: true } match ? WebUtility.HtmlDecode(match.Groups[1].Value)
        : throw new Xunit.Sdk.XunitException("no antiforgery token in the page");

    /// <summary>Posts <paramref name="fields"/> to <paramref name="path"/>, with the token of <paramref name="tokenFrom"/>'s page unless it is null.</summary>
    public async Task<HttpResponseMessage> PostAsync(string path, IEnumerable<KeyValuePair<string, string>> fields, string? tokenFrom)
    {
        var all = fields.ToList();
        if (tokenFrom is not null)
        {
            all.Add(new("__RequestVerificationToken", Token(await PageAsync(tokenFrom))));
        }
        return await _http.PostAsync(path, new FormUrlEncodedContent(all));
    }

    /// <summary>Signs in with <paramref name="key"/>; returns the answer (a redirect when it worked).</summary>
    public Task<HttpResponseMessage> SignInAsync(string key) => PostAsync("/console/sign-in", [new("key", key)], "/console/sign-in");

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}
