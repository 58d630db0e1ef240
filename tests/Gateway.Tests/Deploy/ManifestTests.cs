using System.Text.RegularExpressions;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Reka.Gateway.Clients;
using Reka.Gateway.Webhooks;
using Reka.Gateway.Infrastructure.StandardWebhooks;
using static Reka.Gateway.Tests.Deploy.DeployFiles;

namespace Reka.Gateway.Tests.Deploy;

/// <summary>
/// The Kubernetes manifests and the compose file of <c>deploy/</c> agree with the gateway's code,
/// with the Dockerfile and with each other, and their settings start a gateway that is ready.
/// </summary>
public sealed class ManifestTests
{
    private const string AppLabel = "app.kubernetes.io/name";
    private const string PublicHost = "reka-gateway.example.com";

    [Fact]
    public void EveryFileInDeploy_IsYaml_OneResourcePerFile_AllListedByTheKustomization()
    {
        var files = Files();
        Assert.Contains(files, f => f.File == "kustomization.yaml");
        Assert.Contains(files, f => f.File == "docker-compose.yml");
        foreach (var (file, documents) in files)
        {
            Assert.True(documents.Count > 0, $"{file} holds no YAML document");
        }

        var resources = Resources();
        foreach (var group in resources.GroupBy(r => r.File))
        {
            // redis.yaml is the one exception: the StatefulSet and its headless Service.
            var kinds = group.Select(r => r.Kind).Order().ToArray();
            Assert.True(group.Key == "redis.yaml" ? kinds.SequenceEqual(["Service", "StatefulSet"]) : kinds.Length == 1,
                $"{group.Key} holds {string.Join(", ", kinds)}");
        }
        foreach (var resource in resources)
        {
            var metadata = resource.Document["metadata"]!;
            Assert.True(metadata["namespace"] is null, $"{resource.File} sets a namespace; the manifests are namespace-agnostic");
            Assert.Equal("reka-gateway", Strings(metadata["labels"])[AppLabel]);
        }

        // Every resource file is listed, except secret.yaml: applying its placeholders would
        // overwrite the real Secret made with `kubectl create secret`.
        var kustomization = Assert.Single(Documents(), d => d.Kind == "Kustomization").Document;
        var listed = kustomization["resources"]!.AsArray().Select(Text).Order().ToArray();
        var expected = resources.Select(r => r.File).Distinct().Where(f => f != "secret.yaml").Order().ToArray();
        Assert.Equal(expected, listed);
        Assert.Equal("kustomize.config.k8s.io/v1beta1", Text(kustomization["apiVersion"]));
        Assert.Contains(resources, r => r.File == "secret.yaml" && r.Kind == "Secret");
    }

    [Fact]
    public void ContainerPort_Is8080_AsTheDockerfileExposesAndListensOn_AndTheServiceTargetsIt()
    {
        var port = Assert.Single(GatewayContainer["ports"]!.AsArray())!;
        Assert.Equal("http", Text(port["name"]));
        Assert.Equal(8080, Integer(port["containerPort"]));
        Assert.Equal("8080", EnvValue("ASPNETCORE_HTTP_PORTS"));

        var gatewayStage = DockerStages()[^1];
        Assert.Equal("gateway", gatewayStage.Name);
        Assert.Equal("8080", Assert.Single(gatewayStage.All("EXPOSE")));
        Assert.Equal("8080", gatewayStage.Env("ASPNETCORE_HTTP_PORTS"));

        var service = Resource("Service", "reka-gateway");
        Assert.Equal("ClusterIP", Text(service["spec"]!["type"]));
        var servicePort = Assert.Single(service["spec"]!["ports"]!.AsArray())!;
        Assert.Equal(80, Integer(servicePort["port"]));
        Assert.True(TargetsContainerPort(servicePort["targetPort"]), $"the Service's targetPort {servicePort["targetPort"]} is not the container's port");

        foreach (var probe in new[] { "readinessProbe", "livenessProbe" })
        {
            Assert.True(TargetsContainerPort(GatewayContainer[probe]!["httpGet"]!["port"]), $"{probe} is not on the container's port");
        }
        var policyPort = Assert.Single(Resource("NetworkPolicy", "reka-gateway")["spec"]!["ingress"]!.AsArray()[0]!["ports"]!.AsArray())!;
        Assert.True(TargetsContainerPort(policyPort["port"]), "the NetworkPolicy opens another port than the container's");
    }

    [Fact]
    public async Task ProbePaths_AreRoutesTheGatewayAnswers200()
    {
        var readiness = Text(GatewayContainer["readinessProbe"]!["httpGet"]!["path"]);
        var liveness = Text(GatewayContainer["livenessProbe"]!["httpGet"]!["path"]);
        // Readiness is the check that follows Redis and shutdown; liveness must not, or a Redis
        // outage would restart every replica.
        Assert.Equal("/readyz", readiness);
        Assert.Equal("/healthz", liveness);

        await using var upstream = await RecordingUpstream.StartAsync();
        await using var gateway = await GatewayHost.StartAsync(upstream.BaseUrl);
        using var http = gateway.CreateClient();
        foreach (var path in new[] { readiness, liveness })
        {
            using var response = await http.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path} answered {(int)response.StatusCode}");
        }
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public void Ingress_ExposesOnlyTheCallbackReceiver_OnThePublicBaseUrlsHost_OverTls()
    {
        var ingress = Resource("Ingress");
        Assert.Equal("networking.k8s.io/v1", Text(ingress["apiVersion"]));
        var rule = Assert.Single(ingress["spec"]!["rules"]!.AsArray())!;
        Assert.Equal(PublicHost, Text(rule["host"]));
        var path = Assert.Single(rule["http"]!["paths"]!.AsArray())!;
        Assert.Equal(CallbackTokens.ReceiverPath, Text(path["path"]));
        Assert.Equal("Exact", Text(path["pathType"]));
        Assert.True(ingress["spec"]!["defaultBackend"] is null, "a default backend would expose every other route");

        var backend = path["backend"]!["service"]!;
        var service = Resource("Service", Text(backend["name"]));
        var servicePort = Assert.Single(service["spec"]!["ports"]!.AsArray())!;
        var port = backend["port"]!;
        Assert.True(port["name"] is { } name ? Text(name) == Text(servicePort["name"]) : Integer(port["number"]) == Integer(servicePort["port"]),
            "the Ingress's backend port is not the Service's");

        var tls = Assert.Single(ingress["spec"]!["tls"]!.AsArray())!;
        Assert.Contains(PublicHost, tls["hosts"]!.AsArray().Select(Text));
        Assert.False(string.IsNullOrEmpty(Text(tls["secretName"])));

        // Reka calls {Gateway:PublicBaseUrl}/webhooks/inference: that must be this Ingress.
        var publicBaseUrl = new Uri(EnvValue("Gateway__PublicBaseUrl"));
        Assert.Equal("https", publicBaseUrl.Scheme);
        Assert.Equal(PublicHost, publicBaseUrl.Host);
        Assert.Equal("/", publicBaseUrl.AbsolutePath);
    }

    [Fact]
    public void EveryEnvironmentVariableOfTheDeployment_IsASettingTheGatewayReads()
    {
        var names = GatewayContainer["env"]!.AsArray().Select(e => Text(e!["name"])).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Contains("Upstream__ApiKey", names);
        Assert.Contains("Webhooks__CallbackSecret", names);

        var problems = names.Select(SettingNames.Problem).OfType<string>().ToList();

        Assert.True(problems.Count == 0, string.Join("\n", problems));
        // Kubernetes takes env values as strings only: `value: true` or `value: 8080` is rejected.
        foreach (var env in GatewayContainer["env"]!.AsArray())
        {
            Assert.True(env!["value"] is not { } value || value.GetValueKind() == JsonValueKind.String,
                $"env {Text(env["name"])}: the value must be a quoted string");
            Assert.True((env["value"] is null) != (env["valueFrom"] is null), $"env {Text(env["name"])}: exactly one of value and valueFrom");
        }
    }

    [Theory]
    [InlineData("Gateway__PublicBaseUrl")]
    [InlineData("upstream__retry__maxretries")]
    [InlineData("Proxy__Routes__video-upload__MaxBodyBytes")]
    [InlineData("Clients__video-pipeline__RateLimit__PermitLimit")]
    [InlineData("Webhooks__AllowedSubscriberHosts__12")]
    [InlineData("Webhooks__Processing__DrainSeconds")]
    [InlineData("Delivery__RetrySchedule__0")]
    [InlineData("Cache__ResultTtl")]
    [InlineData("REKA_API_KEY")]
    [InlineData("ASPNETCORE_HTTP_PORTS")]
    public void SettingNameCheck_AcceptsSettingsTheGatewayReads(string variable) =>
        Assert.Null(SettingNames.Problem(variable));

    [Theory]
    [InlineData("Gateway__PublicUrl")]
    [InlineData("Gateways__PublicBaseUrl")]
    [InlineData("Upstream__Retry")]
    [InlineData("Upstream__ApiKey__0")]
    [InlineData("Clients__ops")]
    [InlineData("Clients__ops__Admn")]
    [InlineData("Clients____Admin")]
    [InlineData("Webhooks__AllowedSubscriberHosts__first")]
    [InlineData("Webhooks__ProcessingSchedule__0")]
    [InlineData("Redis_Configuration")]
    public void SettingNameCheck_RejectsNamesTheGatewayDoesNotRead(string variable) =>
        Assert.NotNull(SettingNames.Problem(variable));

    [Fact]
    public void EverySecretKeyRef_NamesTheSecretAndOneOfItsKeys_WhichHoldOnlyPlaceholders()
    {
        var secret = Resource("Secret");
        var data = Strings(secret["stringData"]);
        Assert.Null(secret["data"]);
        Assert.Equal("Opaque", Text(secret["type"]));

        var references = GatewayContainer["env"]!.AsArray()
            .Select(e => e!["valueFrom"]?["secretKeyRef"])
            .OfType<JsonNode>()
            .ToList();
        Assert.NotEmpty(references);
        foreach (var reference in references)
        {
            Assert.Equal(Text(secret["metadata"]!["name"]), Text(reference["name"]));
            Assert.True(data.ContainsKey(Text(reference["key"])), $"the Secret has no key {reference["key"]}");
        }
        // No key goes unused, and none holds anything but an obvious placeholder.
        Assert.Equal(data.Keys.Order(), references.Select(r => Text(r["key"])).Distinct().Order());
        Assert.All(data, entry => Assert.Equal("REPLACE-ME", entry.Value));
        var text = File.ReadAllText(Path.Combine(Folder, "secret.yaml"));
        Assert.Contains("kubectl create secret generic " + Text(secret["metadata"]!["name"]), text);
        Assert.All(data.Keys, key => Assert.Contains($"--from-literal={key}=", text));
    }

    [Fact]
    public void ConfigMap_IsTheRepositorysAppsettingsJson_MountedOverTheOneBesideTheBinaries()
    {
        var configMap = Resource("ConfigMap", "reka-gateway-config");
        var content = Text(Assert.Single(configMap["data"]!.AsObject(), p => p.Key == "appsettings.json").Value);
        var repository = File.ReadAllText(Path.Combine(Root, "appsettings.json"));
        Assert.Equal(repository.TrimEnd('\n'), content.TrimEnd('\n'));

        var volume = Assert.Single(PodTemplate["spec"]!["volumes"]!.AsArray(), v => v!["configMap"] is not null)!;
        Assert.Equal("reka-gateway-config", Text(volume["configMap"]!["name"]));
        var mount = Assert.Single(GatewayContainer["volumeMounts"]!.AsArray(), m => Text(m!["name"]) == Text(volume["name"]))!;
        // WORKDIR of the gateway's image, where `dotnet publish` put appsettings.json.
        var workdir = Assert.Single(DockerStages()[^1].All("WORKDIR"));
        Assert.Equal(workdir + "/appsettings.json", Text(mount["mountPath"]));
        Assert.Equal("appsettings.json", Text(mount["subPath"]));
        Assert.True(Boolean(mount["readOnly"]));
    }

    [Fact]
    public void RedisConfiguration_IsTheRedisServicesNameAndPort_AndRedisKeepsAnAppendOnlyFile()
    {
        var configuration = EnvValue("Redis__Configuration").Split(',')[0].Split(':');
        var service = Resource("Service", configuration[0]);
        Assert.Equal("None", Text(service["spec"]!["clusterIP"]));
        var port = Assert.Single(service["spec"]!["ports"]!.AsArray())!;
        Assert.Equal(6379, Integer(port["port"]));
        Assert.Equal(configuration[1], Integer(port["port"]).ToString());

        var redis = Resource("StatefulSet");
        var spec = redis["spec"]!;
        Assert.Equal(1, Integer(spec["replicas"]));
        Assert.Equal(configuration[0], Text(spec["serviceName"]));
        var podLabels = Strings(spec["template"]!["metadata"]!["labels"]);
        Assert.True(Selects(Strings(service["spec"]!["selector"]), podLabels), "the Redis Service does not select the Redis pod");
        Assert.True(Selects(Strings(spec["selector"]!["matchLabels"]), podLabels));
        Assert.False(Selects(Strings(service["spec"]!["selector"]), Strings(PodTemplate["metadata"]!["labels"])), "the Redis Service selects gateway pods");

        var container = Assert.Single(spec["template"]!["spec"]!["containers"]!.AsArray())!;
        Assert.StartsWith("redis:7", Text(container["image"]));
        var args = string.Join(' ', container["args"]!.AsArray().Select(Text));
        Assert.Contains("--appendonly yes", args);
        Assert.Contains("--appendfsync everysec", args);
        // Full, it refuses writes (503 from the gateway) rather than being killed or evicting keys.
        Assert.Contains("--maxmemory-policy noeviction", args);
        var maxMemory = Quantity(Regex.Match(args, "--maxmemory (\\d+mb)").Groups[1].Value.Replace("mb", "Mi"));
        Assert.True(maxMemory > 0 && maxMemory < Quantity(Text(container["resources"]!["limits"]!["memory"])), "maxmemory is not under the memory limit");
        Assert.Contains(container["ports"]!.AsArray(), p => Integer(p!["containerPort"]) == 6379);
        Assert.True(TargetsPort(port["targetPort"], container), "the Redis Service's targetPort is not Redis's port");

        var claim = Assert.Single(spec["volumeClaimTemplates"]!.AsArray())!;
        Assert.True(Quantity(Text(claim["spec"]!["resources"]!["requests"]!["storage"])) >= 3 * maxMemory, "the volume holds less than an AOF and its rewrite");
        Assert.Contains(container["volumeMounts"]!.AsArray(), m => Text(m!["name"]) == Text(claim["metadata"]!["name"]) && Text(m["mountPath"]) == "/data");

        var podSecurity = spec["template"]!["spec"]!["securityContext"]!;
        Assert.True(Boolean(podSecurity["runAsNonRoot"]));
        Assert.NotEqual(0, Integer(podSecurity["runAsUser"]));
        Assert.False(Boolean(container["securityContext"]!["allowPrivilegeEscalation"]));
    }

    [Fact]
    public void Selectors_OfTheDeploymentServiceHpaPdbAndNetworkPolicies_MatchTheirPods()
    {
        var gatewayPods = Strings(PodTemplate["metadata"]!["labels"]);
        var redisPods = Strings(Resource("StatefulSet")["spec"]!["template"]!["metadata"]!["labels"]);
        Assert.Equal("reka-gateway", gatewayPods[AppLabel]);

        Assert.True(Selects(Strings(Deployment["spec"]!["selector"]!["matchLabels"]), gatewayPods));
        AssertSelectsGatewayOnly(Strings(Resource("Service", "reka-gateway")["spec"]!["selector"]), "the Service");

        var hpa = Resource("HorizontalPodAutoscaler");
        Assert.Equal("autoscaling/v2", Text(hpa["apiVersion"]));
        var target = hpa["spec"]!["scaleTargetRef"]!;
        Assert.Equal(("Deployment", "reka-gateway"), (Text(target["kind"]), Text(target["name"])));
        Assert.Equal(3, Integer(hpa["spec"]!["minReplicas"]));
        Assert.Equal(10, Integer(hpa["spec"]!["maxReplicas"]));
        var metric = Assert.Single(hpa["spec"]!["metrics"]!.AsArray())!["resource"]!;
        Assert.Equal("cpu", Text(metric["name"]));
        Assert.Equal(70, Integer(metric["target"]!["averageUtilization"]));

        var pdb = Resource("PodDisruptionBudget");
        Assert.Equal("policy/v1", Text(pdb["apiVersion"]));
        AssertSelectsGatewayOnly(Strings(pdb["spec"]!["selector"]!["matchLabels"]), "the PodDisruptionBudget");
        Assert.Equal(1, Integer(pdb["spec"]!["maxUnavailable"]));
        Assert.Null(pdb["spec"]!["minAvailable"]);

        var policy = Resource("NetworkPolicy", "reka-gateway")["spec"]!;
        AssertSelectsGatewayOnly(Strings(policy["podSelector"]!["matchLabels"]), "the gateway's NetworkPolicy");
        Assert.Equal(["Ingress"], policy["policyTypes"]!.AsArray().Select(Text));
        var from = Assert.Single(Assert.Single(policy["ingress"]!.AsArray())!["from"]!.AsArray())!.AsObject();
        // Every pod of every namespace (the ingress controller included), nothing outside the cluster.
        Assert.Equal("namespaceSelector", Assert.Single(from).Key);
        Assert.Empty(from["namespaceSelector"]!.AsObject());

        var redisPolicy = Resource("NetworkPolicy", "reka-gateway-redis")["spec"]!;
        Assert.True(Selects(Strings(redisPolicy["podSelector"]!["matchLabels"]), redisPods), "the Redis NetworkPolicy does not select Redis");
        Assert.False(Selects(Strings(redisPolicy["podSelector"]!["matchLabels"]), gatewayPods));
        var redisRule = Assert.Single(redisPolicy["ingress"]!.AsArray())!;
        var redisFrom = Assert.Single(redisRule["from"]!.AsArray())!.AsObject();
        Assert.Equal("podSelector", Assert.Single(redisFrom).Key);
        AssertSelectsGatewayOnly(Strings(redisFrom["podSelector"]!["matchLabels"]), "the Redis NetworkPolicy's source");
        Assert.Equal(6379, Integer(Assert.Single(redisRule["ports"]!.AsArray())!["port"]));

        foreach (var constraint in PodTemplate["spec"]!["topologySpreadConstraints"]!.AsArray())
        {
            AssertSelectsGatewayOnly(Strings(constraint!["labelSelector"]!["matchLabels"]), "a topology spread constraint");
        }

        void AssertSelectsGatewayOnly(Dictionary<string, string> selector, string what)
        {
            Assert.True(Selects(selector, gatewayPods), $"{what} does not select the gateway's pods");
            Assert.False(Selects(selector, redisPods), $"{what} selects Redis's pod too");
        }
    }

    [Fact]
    public void Deployment_LeavesItsCountToTheHpa_RunsSpreadNonRootReplicas_WithLimits_AndStopsGracefully()
    {
        var spec = Deployment["spec"]!;
        var pod = PodTemplate["spec"]!;
        // The HPA alone sets the count: a count here would undo its scaling at every apply.
        Assert.Null(spec["replicas"]);
        Assert.DoesNotContain(":latest", Text(GatewayContainer["image"]));
        Assert.Contains(pod["topologySpreadConstraints"]!.AsArray(), c => Text(c!["topologyKey"]) == "kubernetes.io/hostname");

        var podSecurity = pod["securityContext"]!;
        Assert.True(Boolean(podSecurity["runAsNonRoot"]));
        Assert.Equal(1654, Integer(podSecurity["runAsUser"]));
        Assert.Equal("RuntimeDefault", Text(podSecurity["seccompProfile"]!["type"]));
        var security = GatewayContainer["securityContext"]!;
        Assert.True(Boolean(security["runAsNonRoot"]));
        Assert.Equal(1654, Integer(security["runAsUser"]));
        Assert.True(Boolean(security["readOnlyRootFilesystem"]));
        Assert.False(Boolean(security["allowPrivilegeEscalation"]));
        Assert.Equal(["ALL"], security["capabilities"]!["drop"]!.AsArray().Select(Text));
        Assert.Equal("RuntimeDefault", Text(security["seccompProfile"]!["type"]));
        // The image runs as the aspnet image's app user ($APP_UID, 1654) too.
        Assert.Equal("$APP_UID", Assert.Single(DockerStages()[^1].All("USER")));

        // With a read-only root, /tmp is an emptyDir.
        var tmp = Assert.Single(GatewayContainer["volumeMounts"]!.AsArray(), m => Text(m!["mountPath"]) == "/tmp")!;
        var tmpVolume = Assert.Single(pod["volumes"]!.AsArray(), v => Text(v!["name"]) == Text(tmp["name"]))!;
        Assert.NotNull(tmpVolume["emptyDir"]);

        var resources = GatewayContainer["resources"]!;
        foreach (var resource in new[] { "cpu", "memory" })
        {
            var request = Quantity(Text(resources["requests"]![resource]));
            var limit = Quantity(Text(resources["limits"]![resource]));
            Assert.True(request > 0 && request <= limit, $"{resource}: request {request} and limit {limit}");
        }
        // Server GC needs two CPUs; a memory request below the limit makes the pod evictable first.
        Assert.True(Quantity(Text(resources["limits"]!["cpu"])) >= 2, "one CPU makes .NET use workstation GC");
        Assert.Equal(Text(resources["limits"]!["memory"]), Text(resources["requests"]!["memory"]));

        // SIGTERM comes after preStop; the queue workers then drain for up to DrainSeconds, and the
        // host stops within its shutdown timeout: all of it must fit in the grace period.
        var preStop = GatewayContainer["lifecycle"]!["preStop"]!["exec"]!["command"]!.AsArray().Select(Text).ToArray();
        Assert.Equal(["sleep", "5"], preStop);
        var settings = JsonNode.Parse(File.ReadAllText(Path.Combine(Root, "appsettings.json")))!;
        var drain = Math.Max(settings["Webhooks"]!["Processing"]!["DrainSeconds"]!.GetValue<double>(), settings["Delivery"]!["Worker"]!["DrainSeconds"]!.GetValue<double>());
        var grace = Integer(pod["terminationGracePeriodSeconds"]);
        var shutdown = GatewayApplication.ShutdownTimeout.TotalSeconds;
        Assert.True(drain < shutdown, $"drain {drain} s does not fit in the host's shutdown timeout {shutdown} s");
        Assert.True(5 + shutdown < grace, $"preStop 5 s + shutdown {shutdown} s do not fit in {grace} s");
    }

    [Fact]
    public void DockerCompose_BuildsTheGatewayTargetOnPort8080_AgainstItsRedisAndSimulator()
    {
        var services = Compose()["services"]!;
        var gateway = services["gateway"]!;
        var simulator = services["simulator"]!;
        var stages = DockerStages().Select(s => s.Name).ToList();
        foreach (var (service, stage) in new[] { (gateway, "gateway"), (simulator, "simulator") })
        {
            var build = service["build"]!;
            Assert.Equal(stage, Text(build["target"]));
            Assert.Contains(stage, stages);
            var context = Path.GetFullPath(Path.Combine(Folder, Text(build["context"])));
            Assert.Equal(Root.TrimEnd('/'), context.TrimEnd('/'));
            Assert.Null(build["dockerfile"]);
        }
        Assert.Contains("8080:8080", gateway["ports"]!.AsArray().Select(Text));

        var environment = Strings(gateway["environment"]);
        var problems = environment.Keys.Select(SettingNames.Problem).OfType<string>().ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.Equal("8080", environment["ASPNETCORE_HTTP_PORTS"]);

        var redis = environment["Redis__Configuration"].Split(':');
        Assert.NotNull(services[redis[0]]);
        Assert.Equal("6379", redis[1]);
        Assert.Contains("--appendonly yes", string.Join(' ', services[redis[0]]!["command"]!.AsArray().Select(Text)));
        var upstream = new Uri(environment["Upstream__BaseUrl"]);
        Assert.Same(simulator, services[upstream.Host]);
        Assert.Equal(Assert.Single(DockerStages().Single(s => s.Name == "simulator").All("EXPOSE")), upstream.Port.ToString());
        Assert.Equal(Strings(simulator["environment"])["Simulator__ApiKey"], environment["Upstream__ApiKey"]);
        // The simulator posts Reka's callbacks to the public base URL: it must resolve the name.
        Assert.Same(gateway, services[new Uri(environment["Gateway__PublicBaseUrl"]).Host]);
        var dependsOn = gateway["depends_on"]!.AsObject().Select(p => p.Key).Order();
        Assert.Equal(["redis", "simulator"], dependsOn);

        // Clearly local values, in the forms the gateway's start-up validation accepts.
        Assert.Equal(ClientRegistry.HashKey("local-demo-key"), environment["Clients__demo__KeySha256"]);
        Assert.Contains("X-Api-Key: local-demo-key", File.ReadAllText(Path.Combine(Folder, "docker-compose.yml")));
        Assert.Contains("local-only", environment["Webhooks__CallbackSecret"]);
        Assert.True(environment["Webhooks__CallbackSecret"].Length >= 32);
        Assert.False(environment.ContainsKey("Clients__demo__WebhookSecret"), "no signing secret is committed, not even a demo one");
    }

    [Fact]
    public async Task GatewayStartedWithTheDeploymentsSettings_IsReady_AndKnowsItsClients()
    {
        await using var upstream = await RecordingUpstream.StartAsync();
        var (settings, keys) = DeploymentSettingsWithTestSecrets();
        // Only where things are: this machine's Redis (under a key prefix of the test's own) and upstream.
        var prefix = $"test-{Guid.NewGuid():N}:";
        settings["Redis__Configuration"] = (await RedisServer.Shared).Configuration;
        settings["Redis__KeyPrefix"] = prefix;
        settings["Redis__EventsChannel"] = prefix + "events";
        settings["Upstream__BaseUrl"] = upstream.BaseUrl;
        // The process reads the appsettings.json beside its binaries: the ConfigMap's content.
        var configMap = Text(Resource("ConfigMap")["data"]!["appsettings.json"]);
        Assert.Equal(configMap.TrimEnd('\n'), File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "appsettings.json")).TrimEnd('\n'));

        await using var gateway = GatewayProcess.Start(settings);
        await gateway.WaitUntilLiveAsync(TimeSpan.FromSeconds(30));
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };

        HttpStatusCode ready = 0;
        await Eventually.ThatAsync(async () => (ready = (await http.GetAsync("/readyz")).StatusCode) == HttpStatusCode.OK, 15,
            $"/readyz to answer 200 (last {ready}); stderr: {gateway.StandardError}");

        // The clients' settings took: ops is an admin, video-pipeline is known but not one.
        await AssertStatusAsync(HttpStatusCode.OK, Request(HttpMethod.Get, "/subscriptions", keys["ops"]));
        await AssertStatusAsync(HttpStatusCode.Forbidden, Request(HttpMethod.Get, "/subscriptions", keys["video-pipeline"]));
        await AssertStatusAsync(HttpStatusCode.Unauthorized, Request(HttpMethod.Get, "/subscriptions", "not-a-client-key"));

        // Subscribers may be in-cluster Services, and nothing else.
        await AssertStatusAsync(HttpStatusCode.Created,
            Request(HttpMethod.Post, "/subscriptions", keys["ops"], new { url = "http://video-hooks.webhooks.svc.cluster.local/events" }));
        using var outside = Request(HttpMethod.Post, "/subscriptions", keys["ops"], new { url = "https://hooks.example.com/events" });
        await ProblemAssert.IsValidationProblemAsync(await http.SendAsync(outside), "url");
        Assert.False(gateway.HasExited);
        Assert.Empty(upstream.Requests);

        async Task AssertStatusAsync(HttpStatusCode expected, HttpRequestMessage request)
        {
            using (request)
            using (var response = await http.SendAsync(request))
            {
                Assert.True(expected == response.StatusCode,
                    $"{request.Method} {request.RequestUri}: expected {(int)expected}, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}; stderr: {gateway.StandardError}");
            }
        }
    }

    [Fact]
    public async Task GatewayStartedWithTheSecretsPlaceholders_RefusesToStart_NamingEachOne()
    {
        var secret = Strings(Resource("Secret")["stringData"]);
        var settings = new Dictionary<string, string?>();
        foreach (var env in GatewayContainer["env"]!.AsArray())
        {
            settings[Text(env!["name"])] = env["value"] is { } value ? Text(value) : secret[Text(env["valueFrom"]!["secretKeyRef"]!["key"])];
        }
        settings["Redis__Configuration"] = (await RedisServer.Shared).Configuration;

        await using var gateway = GatewayProcess.Start(settings);

        Assert.Equal(2, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var line = Assert.Single(gateway.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Webhooks:CallbackSecret", line);
        Assert.Contains("Clients:video-pipeline:KeySha256", line);
        Assert.Contains("Clients:video-pipeline:WebhookSecret", line);
        Assert.Contains("Clients:ops:KeySha256", line);
    }

    /// <summary>
    /// The Deployment's env, each secret replaced by a valid test value of its kind; and the key of
    /// each client whose <c>KeySha256</c> it sets.
    /// </summary>
    private static (Dictionary<string, string?> Settings, Dictionary<string, string> Keys) DeploymentSettingsWithTestSecrets()
    {
        var settings = new Dictionary<string, string?>();
        var keys = new Dictionary<string, string>();
        foreach (var env in GatewayContainer["env"]!.AsArray())
        {
            var name = Text(env!["name"]);
            if (env["value"] is { } value)
            {
                settings[name] = Text(value);
                continue;
            }
            var key = Text(env["valueFrom"]!["secretKeyRef"]!["key"]);
            settings[name] = key switch
            {
                "reka-api-key" => TestClients.TeamKey,
                "callback-secret" => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20)),
                _ when key.EndsWith("-webhook-secret", StringComparison.Ordinal) => Reka.Gateway.Infrastructure.StandardWebhooks.WebhookSecret.Generate(),
                _ when key.EndsWith("-key-sha256", StringComparison.Ordinal) => ClientRegistry.HashKey(keys[ClientName(name)] = $"test-key-{ClientName(name)}-{Guid.NewGuid():N}"),
                _ => throw new Xunit.Sdk.XunitException($"no test value for the Secret's key {key}: teach this test its form"),
            };
        }
        Assert.Equal(40, settings["Webhooks__CallbackSecret"]!.Length);
        Assert.Equal(["ops", "video-pipeline"], keys.Keys.Order());
        return (settings, keys);

        static string ClientName(string variable)
        {
            var path = variable.Split("__");
            Assert.True(path is ["Clients", _, "KeySha256"], $"{variable} holds a key hash but is not Clients__<name>__KeySha256");
            return path[1];
        }
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, string key, object? body = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add("X-Api-Key", key);
        return request;
    }

    private static string EnvValue(string name) =>
        Text(Assert.Single(GatewayContainer["env"]!.AsArray(), e => Text(e!["name"]) == name)!["value"]);

    private static bool TargetsContainerPort(JsonNode? port) => TargetsPort(port, GatewayContainer);

    /// <summary>Whether <paramref name="port"/> (a number or a port name) is a port of <paramref name="container"/>.</summary>
    private static bool TargetsPort(JsonNode? port, JsonNode container) =>
        port is not null && container["ports"]!.AsArray().Any(p => port.GetValueKind() == JsonValueKind.String
            ? Text(port) == Text(p!["name"])
            : Integer(port) == Integer(p!["containerPort"]));

    /// <summary>A Kubernetes quantity (<c>250m</c>, <c>1</c>, <c>512Mi</c>, <c>1Gi</c>) as a number.</summary>
    private static double Quantity(string text)
    {
        (string Suffix, double Factor)[] suffixes = [("Ki", 1024), ("Mi", 1 << 20), ("Gi", 1 << 30), ("m", 0.001), ("k", 1e3), ("M", 1e6), ("G", 1e9)];
        foreach (var (suffix, factor) in suffixes)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal))
            {
                return double.Parse(text[..^suffix.Length], System.Globalization.CultureInfo.InvariantCulture) * factor;
            }
        }
        return double.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
    }
}
