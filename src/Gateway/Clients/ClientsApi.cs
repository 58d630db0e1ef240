using System.Text.Json;
using FluentValidation;
using Microsoft.AspNetCore.Mvc;
using Reka.Gateway.Infrastructure;
using Reka.Gateway.Infrastructure.Redis;
using Reka.Gateway.Infrastructure.StandardWebhooks;
using Reka.Gateway.Infrastructure.Validation;

namespace Reka.Gateway.Clients;

/// <summary>
/// Clients and their keys as data, managed by admin clients: create (the first key and the
/// webhook secret shown once), list, get, change, delete, issue further keys (so old and new
/// work side by side during a rotation) and revoke them. Every change is written with its audit
/// entry (<c>GET /audit</c>) and reaches every replica within moments. Clients of settings are
/// listed but not changed here (409).
/// </summary>
internal static class ClientsApi
{
    // The handlers are internal: the operator console calls them, so that a change made there
    // follows the same rules, audit and confirmation as one made through the API.
    private const string Unchanged = "The clients could not be changed; nothing was stored.";
    private const string UnconfirmedChange = "The change to the clients was saved, but may be lost in a failover. Read the client before you retry: "
        + "a repeated create is 409, and a repeated key issue makes a second key (revoke the one never shown).";

    public static IEndpointRouteBuilder MapClientsApi(this IEndpointRouteBuilder endpoints)
    {
        var clients = endpoints.MapGroup("/clients")
            .WithTag("Clients", "Clients and their gateway keys (`gk_...`, each shown once), quotas, daily usage, and the audit of every change. Admin clients manage them; a client may read itself and its usage.")
            .RequireAuthorization()
            .RequireRateLimiting(ClientsSetup.PerClientRateLimit)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .WhenRedisIsUnavailable(Unchanged, UnconfirmedChange);
        var admin = clients.MapGroup("").RequireAuthorization(ClientsSetup.AdminPolicy);

        admin.MapPost("", CreateAsync)
            .WithName("CreateClient")
            .WithSummary("Create a client")
            .WithDescription("Answers the client with its first key and its webhook signing secret, each shown this once; only the key's SHA-256 is stored.")
            .Produces<CreatedClient>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithValidation<CreateClientRequest>();

        admin.MapGet("", ListAsync)
            .WithName("ListClients")
            .WithSummary("List clients, those of settings included")
            .Produces<IReadOnlyList<ClientView>>()
            .WhenRedisIsUnavailable("The clients could not be read.");

        clients.MapGet("/{name}", GetAsync)
            .WithName("GetClient")
            .WithSummary("Get a client (admin, or the client itself)")
            .Produces<ClientView>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WhenRedisIsUnavailable("The client could not be read.");

        admin.MapPatch("/{name}", PatchAsync)
            .WithName("UpdateClient")
            .WithSummary("Change a client")
            .WithDescription("A JSON merge patch (RFC 7396) of `admin`, `rate_limit`, `allowed_endpoints`, `quotas` and `description`: a field given replaces the value, `null` removes it. Unknown fields are refused.")
            .WithRequestBody<CreateClientRequest>("application/json", "application/merge-patch+json")
            .Produces<ClientView>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        admin.MapDelete("/{name}", DeleteAsync)
            .WithName("DeleteClient")
            .WithSummary("Delete a client; its keys stop working")
            .WithDescription("Its requests, usage and events stay under its name, so the name is retired: creating a client of that name again is 409.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        admin.MapPost("/{name}/keys", IssueKeyAsync)
            .WithName("CreateClientKey")
            .WithSummary("Issue a further key, shown this once")
            .Produces<IssuedKey>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .WithValidation<CreateKeyRequest>();

        admin.MapDelete("/{name}/keys/{keyId}", RevokeKeyAsync)
            .WithName("RevokeClientKey")
            .WithSummary("Revoke a key")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        endpoints.MapGet("/audit", async Task<IResult> (int? limit, string? before, ClientStore store) =>
                before is not null && !ClientStore.IsAuditId(before)
                    ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["before"] = [ClientStore.AuditIdRule] },
                        detail: $"Invalid before: {ClientStore.AuditIdRule}")
                    : TypedResults.Ok(await store.AuditAsync(Math.Clamp(limit ?? 100, 1, 1000), before)))
            .WithTags("Clients")
            .WithName("ListAudit")
            .WithSummary("Changes to clients and keys, newest first (who, what, when; never a key)")
            .WithDescription("`limit` 1-1000 (default 100); pass the last entry's `id` as `before` for the next page.")
            .Produces<IReadOnlyList<AuditView>>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .WhenRedisIsUnavailable("The audit could not be read.")
            .RequireAuthorization(ClientsSetup.AdminPolicy)
            .RequireRateLimiting(ClientsSetup.PerClientRateLimit);
        return endpoints;
    }

    internal static async Task<IResult> CreateAsync(CreateClientRequest request, HttpContext context, ClientStore store, ClientRegistry registry, TimeProvider time)
    {
        if (RefusedUnlessAdmin(context) is { } refused)
        {
            return refused;
        }
        var name = request.Name!;
        if (registry.Settings.ContainsKey(name))
        {
            return InSettings(name);
        }
        var now = time.GetUtcNow();
        var (keyId, key) = ClientKeys.New();
        var record = new ClientRecord(name, request.Admin ?? false, request.RateLimit, request.AllowedEndpoints, request.Quotas, request.Description,
            WebhookSecret.Generate(), now, now, Revision: 1, [new StoredKey(keyId, ClientKeys.Hash(key), now, null)]);
        var outcome = await SaveAsync(context, store, registry, name, null, record, "client.created", Settings(record) with { KeyId = keyId });
        return outcome switch
        {
            ClientChange.Exists => Problem(StatusCodes.Status409Conflict, $"There is already a client '{name}'."),
            ClientChange.Retired => Problem(StatusCodes.Status409Conflict,
                $"A deleted client had the name '{name}', and its requests, usage and events stay with the name: a new client takes another name."),
            _ => TypedResults.Created($"/clients/{name}", new CreatedClient(View(record), new IssuedKey(keyId, key, null), record.WebhookSecret)),
        };
    }

    internal static async Task<IResult> ListAsync(HttpContext context, ClientStore store, ClientRegistry registry) =>
        RefusedUnlessAdmin(context) ?? TypedResults.Ok((IReadOnlyList<ClientView>)[.. registry.Settings.Values.OrderBy(c => c.Name, StringComparer.Ordinal).Select(View),
            .. (await store.ListAsync()).Select(View)]);

    internal static async Task<IResult> GetAsync(string name, HttpContext context, ClientStore store, ClientRegistry registry)
    {
        var caller = context.GetClient();
        if (!caller.Admin && caller.Name != name)
        {
            return Problem(StatusCodes.Status403Forbidden, $"Client '{caller.Name}' may read only its own client; others need an admin client.");
        }
        if (registry.Settings.TryGetValue(name, out var settings))
        {
            return TypedResults.Ok(View(settings));
        }
        return await store.GetAsync(name) is { } record ? TypedResults.Ok(View(record)) : NotFound(name);
    }

    internal static async Task<IResult> PatchAsync(string name, [FromBody] JsonElement patch, HttpContext context, ClientStore store, ClientRegistry registry, TimeProvider time)
    {
        if (RefusedUnlessAdmin(context) is { } refused)
        {
            return refused;
        }
        if (registry.Settings.ContainsKey(name))
        {
            return InSettings(name);
        }
        if (await store.GetAsync(name) is not { } record)
        {
            return NotFound(name);
        }
        var (changed, errors) = ClientPatch.Apply(record, patch);
        if (changed is null)
        {
            return TypedResults.ValidationProblem(errors, detail: $"Invalid {string.Join(", ", errors.Keys)}: {errors.First().Value[0]}");
        }
        var updated = changed with { UpdatedAt = time.GetUtcNow(), Revision = record.Revision + 1 };
        var outcome = await SaveAsync(context, store, registry, name, record.Revision, updated, "client.updated", Settings(updated));
        return outcome switch
        {
            ClientChange.Done => TypedResults.Ok(View(updated)),
            ClientChange.Missing => NotFound(name),
            _ => Problem(StatusCodes.Status409Conflict, $"Client '{name}' was changed at the same time by another call; read it again and retry."),
        };
    }

    internal static async Task<IResult> DeleteAsync(string name, HttpContext context, ClientStore store, ClientRegistry registry)
    {
        if (RefusedUnlessAdmin(context) is { } refused)
        {
            return refused;
        }
        if (registry.Settings.ContainsKey(name))
        {
            return InSettings(name);
        }
        if (await store.GetAsync(name) is not { } record)
        {
            return NotFound(name);
        }
        var outcome = await SaveAsync(context, store, registry, name, record.Revision, null, "client.deleted", new AuditDetail());
        return outcome switch
        {
            ClientChange.Done => TypedResults.NoContent(),
            ClientChange.Missing => NotFound(name),
            _ => Problem(StatusCodes.Status409Conflict, $"Client '{name}' was changed at the same time by another call; retry."),
        };
    }

    internal static async Task<IResult> IssueKeyAsync(string name, CreateKeyRequest request, HttpContext context, ClientStore store, ClientRegistry registry, TimeProvider time)
    {
        if (RefusedUnlessAdmin(context) is { } refused)
        {
            return refused;
        }
        if (registry.Settings.ContainsKey(name))
        {
            return InSettings(name);
        }
        if (await store.GetAsync(name) is not { } record)
        {
            return NotFound(name);
        }
        var now = time.GetUtcNow();
        if (request.ExpiresAt <= now)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["expires_at"] = ["'expires_at' must be in the future."] },
                detail: "Invalid expires_at: 'expires_at' must be in the future.");
        }
        var (keyId, key) = ClientKeys.New();
        var updated = record with
        {
            Keys = [.. record.Keys, new StoredKey(keyId, ClientKeys.Hash(key), now, request.ExpiresAt)],
            UpdatedAt = now,
            Revision = record.Revision + 1,
        };
        var outcome = await SaveAsync(context, store, registry, name, record.Revision, updated, "key.created", new AuditDetail { KeyId = keyId, ExpiresAt = request.ExpiresAt });
        return outcome switch
        {
            ClientChange.Done => TypedResults.Created($"/clients/{name}/keys/{keyId}", new IssuedKey(keyId, key, request.ExpiresAt)),
            ClientChange.Missing => NotFound(name),
            _ => Problem(StatusCodes.Status409Conflict, $"Client '{name}' was changed at the same time by another call; retry."),
        };
    }

    internal static async Task<IResult> RevokeKeyAsync(string name, string keyId, HttpContext context, ClientStore store, ClientRegistry registry, TimeProvider time)
    {
        if (RefusedUnlessAdmin(context) is { } refused)
        {
            return refused;
        }
        if (registry.Settings.ContainsKey(name))
        {
            return InSettings(name);
        }
        if (await store.GetAsync(name) is not { } record)
        {
            return NotFound(name);
        }
        if (!record.Keys.Any(k => k.KeyId == keyId))
        {
            return Problem(StatusCodes.Status404NotFound, $"Client '{name}' has no key '{keyId}'.");
        }
        var updated = record with { Keys = [.. record.Keys.Where(k => k.KeyId != keyId)], UpdatedAt = time.GetUtcNow(), Revision = record.Revision + 1 };
        var outcome = await SaveAsync(context, store, registry, name, record.Revision, updated, "key.revoked", new AuditDetail { KeyId = keyId });
        return outcome switch
        {
            ClientChange.Done => TypedResults.NoContent(),
            ClientChange.Missing => NotFound(name),
            _ => Problem(StatusCodes.Status409Conflict, $"Client '{name}' was changed at the same time by another call; retry."),
        };
    }

    // Written with its audit entry; this replica then reads the clients again at once, the others when the change is published.
    private static async Task<ClientChange> SaveAsync(HttpContext context, ClientStore store, ClientRegistry registry, string name,
        long? expectedRevision, ClientRecord? record, string action, AuditDetail detail)
    {
        var actor = context.GetClient().Name;
        var outcome = await store.SaveAsync(name, expectedRevision, record,
            new AuditEntry(actor, action, JsonSerializer.Serialize(detail, GatewayJson.Options)));
        if (outcome == ClientChange.Done)
        {
            GatewayLog.ClientChanged(context.RequestServices.GetRequiredService<ILogger<ClientRegistry>>(), actor, action, name);
            await registry.ReloadAsync();
        }
        return outcome;
    }

    private static AuditDetail Settings(ClientRecord record) =>
        new() { Admin = record.Admin, RateLimit = record.RateLimit, AllowedEndpoints = record.AllowedEndpoints, Quotas = record.Quotas, Description = record.Description };

    private static ClientView View(ClientRecord record) => new(record.Name, record.Admin, record.RateLimit, record.AllowedEndpoints, record.Quotas,
        record.Description, "api", record.CreatedAt, record.UpdatedAt, [.. record.Keys.Select(k => new ClientKeyView(k.KeyId, k.CreatedAt, k.ExpiresAt))]);

    private static ClientView View(GatewayClient settings) => new(settings.Name, settings.Admin, settings.RateLimit, settings.AllowedEndpoints,
        settings.Quotas, null, "settings", null, null, [new ClientKeyView("settings", null, null)]);

    // The API's route group requires an admin, but the console calls these handlers in-process,
    // past that policy: so each handler for admins checks its caller itself, one rule for both.
    private static IResult? RefusedUnlessAdmin(HttpContext context) =>
        context.GetClient() is { Admin: false } caller
            ? Problem(StatusCodes.Status403Forbidden, $"Client '{caller.Name}' may not manage clients or their keys; that needs an admin client.")
            : null;

    private static IResult InSettings(string name) =>
        Problem(StatusCodes.Status409Conflict, $"Client '{name}' is defined in settings (Clients:{name}); change it there, not through the API.");

    private static IResult NotFound(string name) => Problem(StatusCodes.Status404NotFound, $"There is no client '{name}'.");

    private static IResult Problem(int status, string detail) => TypedResults.Problem(statusCode: status, detail: detail);

    // What an audit entry says changed: settings and key ids, never a key or a secret.
    private sealed record AuditDetail
    {
        public bool? Admin { get; init; }
        public RateLimitOptions? RateLimit { get; init; }
        public IReadOnlyList<string>? AllowedEndpoints { get; init; }
        public QuotaOptions? Quotas { get; init; }
        public string? Description { get; init; }
        public string? KeyId { get; init; }
        public DateTimeOffset? ExpiresAt { get; init; }
    }
}

/// <summary>
/// A client needs a valid, unused name; its rate limit, allowed endpoints, quotas and
/// description, when given, must be sound (<see cref="ClientRules"/>).
/// </summary>
internal sealed class CreateClientRequestValidator : AbstractValidator<CreateClientRequest>
{
    public CreateClientRequestValidator()
    {
        RuleFor(r => r.Name).Must(name => name is not null && ClientNames.IsValid(name))
            .WithMessage($"'name' is required: {ClientNames.Rule}.").OverridePropertyName("name");
        RuleFor(r => r).Custom((request, context) =>
        {
            foreach (var (field, message) in ClientRules.Check(request.RateLimit, request.AllowedEndpoints, request.Quotas, request.Description))
            {
                context.AddFailure(field, message);
            }
        });
    }
}

/// <summary>A further key's expiry, when given, is in ISO 8601 (checked for being in the future by the handler, on the gateway's clock).</summary>
internal sealed class CreateKeyRequestValidator : AbstractValidator<CreateKeyRequest>;

/// <summary>The rules a client's settings follow, for a create and a patch alike.</summary>
internal static class ClientRules
{
    public const int MaxAllowedEndpoints = 100;
    public const int MaxDescriptionLength = 500;

    public static IEnumerable<(string Field, string Message)> Check(RateLimitOptions? rateLimit, IReadOnlyList<string>? allowedEndpoints, QuotaOptions? quotas, string? description)
    {
        if (rateLimit is { PermitLimit: < 1 } or { WindowSeconds: < 1 })
        {
            yield return ("rate_limit", "'rate_limit' needs permit_limit and window_seconds of at least 1.");
        }
        if (allowedEndpoints is { Count: > MaxAllowedEndpoints })
        {
            yield return ("allowed_endpoints", $"'allowed_endpoints' may list at most {MaxAllowedEndpoints} endpoints.");
        }
        if (allowedEndpoints?.Any(e => e is null || !ClientNames.IsEndpointId(e)) == true)
        {
            var endpoint = allowedEndpoints.First(e => e is null || !ClientNames.IsEndpointId(e));
            yield return ("allowed_endpoints", $"'allowed_endpoints' holds '{endpoint}', which is not {{model}}/{{capability}}.");
        }
        if (quotas is { MaxInFlight: < 1 } or { DailySubmits: < 1 })
        {
            yield return ("quotas", "'quotas' max_in_flight and daily_submits must be at least 1 when given.");
        }
        if (description is { Length: > MaxDescriptionLength })
        {
            yield return ("description", $"'description' may have at most {MaxDescriptionLength} characters.");
        }
    }
}

/// <summary>A JSON merge patch (RFC 7396) of an API client's settings.</summary>
internal static class ClientPatch
{
    private static readonly HashSet<string> Fields = ["admin", "rate_limit", "allowed_endpoints", "quotas", "description"];

    /// <summary>The patched record, or the errors that refuse the patch (each naming its field).</summary>
    public static (ClientRecord? Record, Dictionary<string, string[]> Errors) Apply(ClientRecord record, JsonElement patch)
    {
        var errors = new Dictionary<string, string[]>();
        if (patch.ValueKind != JsonValueKind.Object)
        {
            errors["body"] = ["The body must be a JSON object of the fields to change."];
            return (null, errors);
        }
        if (StrictJson.Check(patch) is { } refused)
        {
            errors[refused.Field] = [refused.Detail];
            return (null, errors);
        }
        var changed = record;
        foreach (var property in patch.EnumerateObject())
        {
            if (property.Name == "name")
            {
                errors["name"] = ["A client's name cannot change; create another client."];
                continue;
            }
            if (!Fields.Contains(property.Name))
            {
                errors[property.Name] = [$"'{property.Name}' is not a field of a client ({string.Join(", ", Fields)})."];
                continue;
            }
            try
            {
                var value = property.Value;
                changed = property.Name switch
                {
                    "admin" when value.ValueKind is JsonValueKind.True or JsonValueKind.False => changed with { Admin = value.GetBoolean() },
                    "admin" => throw new JsonException("'admin' must be true or false."),
                    "rate_limit" => changed with { RateLimit = value.Deserialize<RateLimitOptions>(GatewayJson.Options) },
                    "allowed_endpoints" => changed with { AllowedEndpoints = value.Deserialize<List<string>>(GatewayJson.Options) },
                    "quotas" => changed with { Quotas = value.Deserialize<QuotaOptions>(GatewayJson.Options) },
                    _ => changed with { Description = value.ValueKind == JsonValueKind.Null ? null : value.ValueKind == JsonValueKind.String ? value.GetString() : throw new JsonException("'description' must be a string or null.") },
                };
            }
            catch (JsonException e)
            {
                errors[property.Name] = [e.Message.StartsWith('\'') ? e.Message : $"'{property.Name}' has the wrong shape: {e.Message}"];
            }
        }
        foreach (var (field, message) in ClientRules.Check(changed.RateLimit, changed.AllowedEndpoints, changed.Quotas, changed.Description))
        {
            errors.TryAdd(field, [message]);
        }
        return (errors.Count == 0 ? changed : null, errors);
    }
}
