using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Reka.Gateway.Infrastructure.Redis;

/// <summary>Where the shared state lives (section <c>Redis</c>).</summary>
public sealed partial class RedisOptions : IValidatableObject
{
    internal const string SectionName = "Redis";

    /// <summary>
    /// StackExchange.Redis configuration string. One node: <c>redis:6379</c>; a Redis Cluster:
    /// some or all of its nodes, <c>node1:6379,node2:6379,node3:6379</c>; Sentinel: the sentinels
    /// and the service, <c>sentinel1:26379,sentinel2:26379,serviceName=mymaster</c>; TLS with an
    /// ACL user: <c>redis.example:6380,ssl=true,user=gateway,password=...</c>.
    /// </summary>
    [Required(ErrorMessage = "Redis:Configuration is required (e.g. localhost:6379).")]
    public string Configuration { get; set; } = "localhost:6379";

    /// <summary>
    /// Prefix of every key and channel the gateway uses, so several gateways can share one Redis.
    /// No <c>{</c> or <c>}</c>: the gateway puts hash tags after it.
    /// </summary>
    [RegularExpression(@"^[^{}]*\z", ErrorMessage = "Redis:KeyPrefix must not contain '{{' or '}}' (the gateway puts hash tags after it).")]
    public string KeyPrefix { get; set; } = "gateway:";

    /// <summary>Pub/sub channel on which every event is published for listeners inside the cluster.</summary>
    [Required(ErrorMessage = "Redis:EventsChannel is required.")]
    public string EventsChannel { get; set; } = "gateway:events";

    /// <summary>
    /// Longest wait for one Redis call, in seconds; past it the call fails (StackExchange.Redis'
    /// own <c>AsyncTimeout</c> and <c>SyncTimeout</c>) and a caller gets 503.
    /// </summary>
    [Range(0.01, 600)]
    public double OperationTimeoutSeconds { get; set; } = 2;

    /// <summary>
    /// Partitions of each durable queue (callbacks, fan-outs, deliveries), 1 to 256. Each is its
    /// own hash slot, so on a Redis Cluster the queues spread over the primaries; a job's
    /// partition follows from its request. Raise it freely; lowering it strands the jobs queued
    /// in the partitions dropped.
    /// </summary>
    [Range(1, 256)]
    public int QueuePartitions { get; set; } = 8;

    /// <summary>
    /// Longest wait, in seconds, for a replica to confirm a write the gateway is about to
    /// acknowledge (a callback received, a submit's record, a subscription, a replay): Redis
    /// <c>WAIT 1</c>. When no replica confirms in time the caller gets 503 with <c>Retry-After</c>
    /// and retries, so a primary that dies before its replicas caught up loses nothing
    /// acknowledged. A primary without replicas is not waited for. 0 turns the confirmation off.
    /// </summary>
    [Range(0, 600)]
    public double ReplicaAckTimeoutSeconds { get; set; } = 0.5;

    /// <summary>
    /// Whether every primary must have a replica confirm (true for a Redis run with replicas:
    /// Sentinel, a cluster, a managed service). By default a primary whose <c>ROLE</c> lists no
    /// replica is not waited for, and <c>ROLE</c> lists only the replicas connected now: while its
    /// replica is down or resyncing, just when a failover may promote it, writes would be
    /// acknowledged unreplicated. With true, they are 503 instead. Needs
    /// <see cref="ReplicaAckTimeoutSeconds"/> above 0 (start-up refuses otherwise).
    /// </summary>
    public bool RequireReplica { get; set; }

    /// <summary>PEM file of the certificate authority that signed Redis' TLS certificate, when it is not one the system trusts.</summary>
    public string? CaCertificatePath { get; set; }

    /// <summary>PEM file of the gateway's client certificate, for a Redis that asks for one (mutual TLS, <c>tls-auth-clients yes</c>).</summary>
    public string? ClientCertificatePath { get; set; }

    /// <summary>PEM file of the client certificate's private key (omit when it is in <see cref="ClientCertificatePath"/>).</summary>
    public string? ClientKeyPath { get; set; }

    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (ReplicaAckTimeoutSeconds >= OperationTimeoutSeconds)
        {
            yield return new("Redis:ReplicaAckTimeoutSeconds must be below Redis:OperationTimeoutSeconds (a WAIT must end before its call times out).");
        }
        if (RequireReplica && ReplicaAckTimeoutSeconds <= 0)
        {
            yield return new("Redis:RequireReplica needs Redis:ReplicaAckTimeoutSeconds above 0 (0 turns replica confirmations off, so nothing would be required).");
        }
        foreach (var (path, setting) in new[] { (CaCertificatePath, "CaCertificatePath"), (ClientCertificatePath, "ClientCertificatePath"), (ClientKeyPath, "ClientKeyPath") })
        {
            if (!string.IsNullOrEmpty(path) && !File.Exists(path))
            {
                yield return new($"Redis:{setting}: no file at {path}.");
            }
        }
        if (!string.IsNullOrEmpty(ClientKeyPath) && string.IsNullOrEmpty(ClientCertificatePath))
        {
            yield return new("Redis:ClientKeyPath needs Redis:ClientCertificatePath.");
        }
        if (string.IsNullOrWhiteSpace(Configuration))
        {
            yield break;
        }
        string? failure = null;
        try
        {
            var configuration = StackExchange.Redis.ConfigurationOptions.Parse(Configuration);
            if (configuration.EndPoints.Count == 0)
            {
                failure = "Redis:Configuration names no host (e.g. localhost:6379).";
            }
            else if (!configuration.Ssl && (!string.IsNullOrEmpty(CaCertificatePath) || !string.IsNullOrEmpty(ClientCertificatePath)))
            {
                failure = "Redis:CaCertificatePath and Redis:ClientCertificatePath apply to TLS: add ssl=true to Redis:Configuration.";
            }
            else
            {
                RedisConnection.Build(this); // reads the certificate files
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException or NotSupportedException or System.Security.Cryptography.CryptographicException or IOException)
        {
            // The client's message may quote the configuration string: its password never goes out.
            failure = $"Redis settings cannot be used: {Redact(e.Message, Configuration)}";
        }
        if (failure is not null)
        {
            yield return new(failure);
        }
    }

    // Any value of a password= entry, and the whole configuration string, are cut from a message.
    private static string Redact(string message, string configuration)
    {
        foreach (Match secret in PasswordPattern().Matches(configuration))
        {
            if (secret.Groups[1].Value.Length > 0)
            {
                message = message.Replace(secret.Groups[1].Value, "***", StringComparison.Ordinal);
            }
        }
        return message.Replace(configuration, "(Redis:Configuration)", StringComparison.Ordinal);
    }

    [GeneratedRegex("password=([^,]*)", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordPattern();
}

[OptionsValidator]
internal sealed partial class RedisOptionsValidator : IValidateOptions<RedisOptions>;
