using Reka.Gateway.Clients;

namespace Reka.Gateway.Tests.Support;

/// <summary>A gateway client the tests configure: its name and its (test-only) key.</summary>
public sealed record TestClient(string Name, string Key, bool Admin = false, string? WebhookSecret = null)
{
    /// <summary>The settings that configure this client.</summary>
    public IEnumerable<KeyValuePair<string, string?>> Settings()
    {
        yield return new($"Clients:{Name}:KeySha256", ClientRegistry.HashKey(Key));
        yield return new($"Clients:{Name}:Admin", Admin ? "true" : "false");
        if (WebhookSecret is not null)
        {
            yield return new($"Clients:{Name}:WebhookSecret", WebhookSecret);
        }
    }
}

/// <summary>The clients and team key every test gateway knows.</summary>
public static class TestClients
{
    /// <summary>The team's Reka key as the test upstreams expect it.</summary>
    public const string TeamKey = "team-key-for-tests-0123456789";

    /// <summary>The callback secret of test gateways.</summary>
    public const string CallbackSecret = "callback-secret-for-tests-only-0123456789";

    public static readonly TestClient Alice = new("alice", "alice-key-6f1c2a9e", WebhookSecret: "whsec_" + Convert.ToBase64String("alice-webhook-signing-key-32bytes"u8));
    public static readonly TestClient Bob = new("bob", "bob-key-0b7d44e1");
    public static readonly TestClient Ops = new("ops", "ops-key-93ac5f20", Admin: true);

    public static IEnumerable<TestClient> All => [Alice, Bob, Ops];
}
