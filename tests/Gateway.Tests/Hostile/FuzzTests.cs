using System.Diagnostics;
using System.Text.Json.Nodes;
using CsCheck;
using Microsoft.Extensions.Options;
using Reka.Gateway.Clients;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Validation;
using Reka.Gateway.Requests;
using Reka.Gateway.Webhooks;
using Xunit.Abstractions;

namespace Reka.Gateway.Tests.Hostile;

/// <summary>
/// Property-based fuzzing (CsCheck) of what reads untrusted input, for a bounded number of
/// inputs each run: the JSON reading policy (<see cref="StrictJson"/>, which reads submits,
/// callbacks and subscriptions), request ids and client names, and callback tokens. Each input is
/// made from a tape of integers that CsCheck shrinks, so a failure is reported as a small input
/// with the seed that reproduces it (set <c>CsCheck_Seed</c> to replay it). An input that finds a
/// bug is kept as a case of the hostile suite.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private static readonly Gen<int[]> Tapes = Gen.Int[0, int.MaxValue].Array[1, 160];

    /// <summary>
    /// JSON made from a model that knows what it holds: the policy accepts it exactly when no
    /// member name repeats in an object, every string is valid Unicode and nesting stays within
    /// <see cref="StrictJson.MaxDepth"/>; an accepted body reads as the model's value, character
    /// for character, and can be written again three levels deeper (as events and list items carry it).
    /// </summary>
    [Fact]
    public void StrictJson_AcceptsExactlyTheBodiesThePolicyAllows_AndChangesNothing() =>
        Run("StrictJson: generated bodies", 30_000, tape =>
        {
            var body = JsonModel.Build(new Tape(tape));
            var (node, error) = StrictJson.Parse(body.Bytes);
            Interlocked.Increment(ref error is null ? ref _accepted : ref _refused);
            var why = $"{Encoding.Latin1.GetString(body.Bytes)} (duplicate {body.Duplicate}, bad Unicode {body.BadUnicode}, depth {body.Depth})";
            if (!body.ShouldAccept)
            {
                Assert.True(error is not null, "accepted: " + why);
                Assert.False(string.IsNullOrWhiteSpace(error!.Detail));
                // With one fault, the detail says which.
                var tooDeep = body.Depth > StrictJson.MaxDepth;
                var (word, faults) = (tooDeep, body.Duplicate, body.BadUnicode) switch
                {
                    (true, false, false) => ("depth", 1),
                    (false, true, false) => ("more than once", 1),
                    (false, false, true) => ("not valid Unicode", 1),
                    _ => ("", 2),
                };
                if (faults == 1)
                {
                    Assert.True(error.Detail.Contains(word, StringComparison.Ordinal), $"'{error.Detail}' does not say '{word}': {why}");
                }
                return;
            }
            Assert.True(error is null, $"refused ({error?.Detail}): {why}");
            Assert.Equal(body.Expected?.ToJsonString() ?? "null", node?.ToJsonString() ?? "null");
            WrittenDeeper(node);
        });

    /// <summary>
    /// Generated bodies with bytes replaced, inserted or removed: the policy never throws, and what
    /// it accepts is valid UTF-8, repeats no member, stays within the depth, and can be written
    /// again three levels deeper.
    /// </summary>
    [Fact]
    public void StrictJson_MutatedBytes_AreRefusedOrSafe() =>
        Run("StrictJson: mutated bytes", 30_000, tape =>
        {
            var t = new Tape(tape);
            var bytes = JsonModel.Build(t).Bytes.ToList();
            for (var mutations = 1 + t.Next(4); mutations > 0; mutations--)
            {
                var at = t.Next(bytes.Count + 1);
                var value = (byte)t.Next(256);
                switch (t.Next(3))
                {
                    case 0 when at < bytes.Count: bytes[at] = value; break;
                    case 1 when at < bytes.Count: bytes.RemoveAt(at); break;
                    default: bytes.Insert(at, value); break;
                }
            }
            var body = bytes.ToArray();
            var (node, error) = StrictJson.Parse(body);
            if (error is not null)
            {
                Assert.False(string.IsNullOrWhiteSpace(error.Detail));
                return;
            }
            var text = body.AsSpan().StartsWith("\uFEFF"u8) ? body[3..] : body;
            _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(text);
            Assert.True(DepthOf(node) <= StrictJson.MaxDepth, "deeper than the policy allows");
            WrittenDeeper(node);
        });

    /// <summary>Request ids and client names: the validators agree with the rules written out by hand, on strings made of the characters that matter.</summary>
    [Fact]
    public void Ids_AreValidExactlyByTheirRules() =>
        Run("request ids and client names", 50_000, tape =>
        {
            var t = new Tape(tape);
            const string alphabet = "aZ09._~-/\\%\n\r\t \0é\u0130\u212A{}:?#@+=\u00A0\uFF10";
            var length = t.Next(4) switch { 0 => 1 + t.Next(3), 1 => 126 + t.Next(5), 2 => 62 + t.Next(5), _ => t.Next(12) };
            var chars = new char[length];
            for (var i = 0; i < length; i++)
            {
                // Mostly valid characters, so that long valid ids come up.
                chars[i] = t.Next(4) == 0 ? alphabet[t.Next(alphabet.Length)] : alphabet[t.Next(7)];
            }
            var id = new string(chars);
            static bool Unreserved(char c) => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '~' or '-';
            var requestId = id.Length is >= 1 and <= RequestIds.MaxLength && id.All(Unreserved) && id is not ("." or "..");
            Assert.True(RequestIds.IsValid(id) == requestId, $"request id '{Escape(id)}': expected {requestId}");
            var clientName = id.Length is >= 1 and <= 64 && id.All(c => Unreserved(c) && c != '~') && char.IsAsciiLetterOrDigit(id[0]);
            Assert.True(ClientNames.IsValid(id) == clientName, $"client name '{Escape(id)}': expected {clientName}");
        });

    /// <summary>
    /// Callback tokens: a minted token verifies as its submission; the same token with a character
    /// replaced, inserted or removed (white space, padding, a case change, any character) never does.
    /// </summary>
    [Fact]
    public void CallbackTokens_VerifyOnlyExactlyAsMinted() =>
        Run("callback tokens", 20_000, tape =>
        {
            var t = new Tape(tape);
            var id = new string([.. Enumerable.Range(0, 22).Select(_ => Base64Url[t.Next(Base64Url.Length)])]);
            var token = Tokens.Mint(id);
            Assert.True(Tokens.TryVerify(token, out var verified) && verified == id, "a minted token did not verify");
            const string others = " \n\r\t=+/.%\0é" + Base64Url;
            var at = t.Next(token.Length + 1);
            var c = others[t.Next(others.Length)];
            var altered = t.Next(4) switch
            {
                0 => token.Insert(at, c.ToString()),
                1 when at < token.Length => token.Remove(at, 1),
                2 when at < token.Length => token[..at] + (char.IsUpper(token[at]) ? char.ToLowerInvariant(token[at]) : char.ToUpperInvariant(token[at])) + token[(at + 1)..],
                _ when at < token.Length => token[..at] + c + token[(at + 1)..],
                _ => token + c,
            };
            if (altered != token)
            {
                Assert.False(Tokens.TryVerify(altered, out _), $"an altered token verified: '{Escape(altered)}'");
            }
        });

    private long _accepted;
    private long _refused;

    private const string Base64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    private static readonly CallbackTokens Tokens = new(
        Options.Create(new WebhooksOptions { CallbackSecret = "fuzz-secret-of-at-least-32-characters!" }),
        Options.Create(new GatewayOptions { PublicBaseUrl = "http://127.0.0.1:1/" }));

    // Samples `inputs` tapes, one thread (the machine is shared), and records the run in the figures.
    private void Run(string target, int inputs, Action<int[]> property)
    {
        var seed = Environment.GetEnvironmentVariable("CsCheck_Seed");
        var started = Stopwatch.GetTimestamp();
        var tried = 0L;
        var failed = 0;
        try
        {
            Tapes.Sample(tape =>
            {
                Interlocked.Increment(ref tried);
                property(tape);
            }, seed: seed, iter: inputs, threads: 1);
        }
        catch
        {
            failed = 1;
            throw;
        }
        finally
        {
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            HostileFigures.Record(new FuzzOutcome(target, Volatile.Read(ref tried), failed, seconds, seed ?? "random"));
            output.WriteLine($"fuzz / {target}: {tried} inputs in {seconds:0.0} s, {failed} failure(s)" +
                (_accepted + _refused > 0 ? $"; {_accepted} accepted, {_refused} refused" : ""));
        }
    }

    // What the gateway does with an accepted body later: writes it (inside an event or a list
    // item, a few levels deeper) and reads it back.
    private static void WrittenDeeper(JsonNode? node)
    {
        var text = node?.ToJsonString() ?? "null";
        var deeper = """{"data":{"items":[{"input":""" + text + "}]}}";
        var reread = JsonNode.Parse(deeper)!["data"]!["items"]![0]!["input"];
        Assert.Equal(text, reread?.ToJsonString() ?? "null");
        using var document = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(JsonNode.Parse(deeper)));
    }

    private static int DepthOf(JsonNode? node) => node switch
    {
        JsonObject o => 1 + o.Select(p => DepthOf(p.Value)).DefaultIfEmpty(0).Max(),
        JsonArray a => 1 + a.Select(DepthOf).DefaultIfEmpty(0).Max(),
        _ => 0,
    };

    private static string Escape(string s) => string.Concat(s.Select(c => c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:x4}"));

    /// <summary>Integers read one after the other; past the end, zeros (so shrinking a tape simplifies its input).</summary>
    private sealed class Tape(int[] values)
    {
        private int _at;

        /// <summary>The next integer, below <paramref name="bound"/>.</summary>
        public int Next(int bound) => bound <= 1 ? 0 : (_at < values.Length ? values[_at++] : 0) % bound;
    }

    /// <summary>A JSON body built from a tape, with what the policy must make of it.</summary>
    private sealed class JsonModel
    {
        private readonly List<byte> _bytes = [];
        private readonly Tape _tape;

        private JsonModel(Tape tape) => _tape = tape;

        public byte[] Bytes { get; private set; } = [];

        /// <summary>The value the body holds (for an accepted body).</summary>
        public JsonNode? Expected { get; private set; }

        /// <summary>Whether an object repeats a member name.</summary>
        public bool Duplicate { get; private set; }

        /// <summary>Whether a string (or member name) is not valid Unicode: ill-formed UTF-8 or an unpaired surrogate escape.</summary>
        public bool BadUnicode { get; private set; }

        /// <summary>Deepest nesting of objects and arrays (the body itself is 1; a scalar body 0).</summary>
        public int Depth { get; private set; }

        public bool ShouldAccept => !Duplicate && !BadUnicode && Depth <= StrictJson.MaxDepth;

        public static JsonModel Build(Tape tape)
        {
            var model = new JsonModel(tape);
            if (tape.Next(12) == 0)
            {
                model.Raw([0xEF, 0xBB, 0xBF]); // a byte order mark, which the policy skips
            }
            // Sometimes wrapped in arrays, around the policy's depth.
            var wrap = tape.Next(4) == 0 ? 26 + tape.Next(12) : 0;
            model.Text(new string('[', wrap));
            var value = model.Value(wrap);
            model.Text(new string(']', wrap));
            for (var i = 0; i < wrap; i++)
            {
                value = new JsonArray(value);
            }
            model.Depth = Math.Max(model.Depth, wrap);
            model.Expected = value;
            model.Bytes = [.. model._bytes];
            return model;
        }

        private JsonNode? Value(int depth)
        {
            Space();
            var kind = depth >= 40 ? 5 + _tape.Next(5) : _tape.Next(10);
            switch (kind)
            {
                case 0 or 1 or 2:
                    Depth = Math.Max(Depth, depth + 1);
                    var obj = new JsonObject();
                    var names = new HashSet<string>(StringComparer.Ordinal);
                    Text("{");
                    for (var i = _tape.Next(4); i > 0; i--)
                    {
                        Space();
                        var name = String();
                        Space();
                        Text(":");
                        var member = Value(depth + 1);
                        if (name is not null && !names.Add(name))
                        {
                            Duplicate = true;
                        }
                        else if (name is not null)
                        {
                            obj[name] = member;
                        }
                        Text(i > 1 ? "," : "");
                    }
                    Space();
                    Text("}");
                    return obj;
                case 3 or 4:
                    Depth = Math.Max(Depth, depth + 1);
                    var array = new JsonArray();
                    Text("[");
                    for (var i = _tape.Next(4); i > 0; i--)
                    {
                        array.Add(Value(depth + 1));
                        Text(i > 1 ? "," : "");
                    }
                    Space();
                    Text("]");
                    return array;
                case 5 or 6 or 7:
                    var text = String();
                    return text is null ? null : JsonValue.Create(text);
                case 8:
                    var number = _tape.Next(100_000) - 50_000;
                    Text(number.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    return JsonValue.Create(number);
                default:
                    switch (_tape.Next(3))
                    {
                        case 0: Text("true"); return JsonValue.Create(true);
                        case 1: Text("false"); return JsonValue.Create(false);
                        default: Text("null"); return null;
                    }
            }
        }

        // A string (or member name) of a few pieces, each written raw or escaped; rarely a piece
        // that is not Unicode. Returns its value, or null when it is not valid Unicode.
        private string? String()
        {
            string[] pieces = ["a", "b", "A", "é", "東", "😀", "\"", "\\", "\n", "/", "\u0000", "\u007f", "\u2028", "\uffff"];
            byte[][] illFormed = [[0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xFF], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xC3]];
            string[] loneSurrogates = ["\\ud800", "\\udfff", "\\udbff\\udbff", "\\udc00\\ud800"];
            var value = new StringBuilder();
            var valid = true;
            Text("\"");
            for (var i = _tape.Next(4); i > 0; i--)
            {
                switch (_tape.Next(40))
                {
                    case 0:
                        // Followed by a letter: two pieces together could be well-formed (C3 then 80 is 'À').
                        Raw(illFormed[_tape.Next(illFormed.Length)]);
                        Text("x");
                        valid = false;
                        break;
                    case 1:
                        // Followed by a letter: a lone high then a lone low escape would make a valid pair.
                        Text(loneSurrogates[_tape.Next(loneSurrogates.Length)] + "x");
                        valid = false;
                        break;
                    default:
                        var piece = pieces[_tape.Next(pieces.Length)];
                        value.Append(piece);
                        var mustEscape = piece is "\"" or "\\" or "\n" or "\u0000";
                        if (mustEscape || _tape.Next(3) == 0)
                        {
                            Text(string.Concat(piece.Select(c => $"\\u{(int)c:x4}")));
                        }
                        else
                        {
                            Text(piece);
                        }
                        break;
                }
            }
            Text("\"");
            BadUnicode |= !valid;
            return valid ? value.ToString() : null;
        }

        private void Space()
        {
            if (_tape.Next(6) == 0)
            {
                Text(" \t\r\n"[.._tape.Next(5)]);
            }
        }

        private void Text(string text) => _bytes.AddRange(Encoding.UTF8.GetBytes(text));

        private void Raw(byte[] bytes) => _bytes.AddRange(bytes);
    }
}
