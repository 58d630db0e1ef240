using Reka.Gateway.Events;
using Reka.Gateway.Infrastructure.StandardWebhooks;

namespace Reka.Gateway.Tests.Infrastructure;

[Collection(ProxyCollection.Name)]
public sealed class OpenApiTests(RecordingStack stack) : RecordingStackTests(stack)
{
    private async Task<JsonElement> DocumentAsync()
    {
        using var http = Gateway.CreateClient();
        return JsonDocument.Parse(await http.GetStringAsync("/swagger/v1/swagger.json")).RootElement;
    }

    [Theory]
    [InlineData("post", "/v2/inference/{model}/{capability}")]
    [InlineData("get", "/v2/inference/requests")]
    [InlineData("get", "/v2/inference/requests/{request_id}/status")]
    [InlineData("get", "/v2/inference/requests/{request_id}")]
    [InlineData("post", "/v2/inference/requests/{request_id}/cancel")]
    [InlineData("get", "/v2/inference/models")]
    [InlineData("post", "/v2/inference/chat/completions")]
    [InlineData("post", "/v1/images/upload")]
    [InlineData("post", "/v2/videos")]
    [InlineData("get", "/v1/{path}")]
    [InlineData("patch", "/v2/{path}")]
    public async Task Document_DescribesEveryForwardedRoute_WithTheKeySchemesAndProblemDetails(string method, string path)
    {
        var operation = (await DocumentAsync()).GetProperty("paths").GetProperty(path).GetProperty(method);

        var schemes = operation.GetProperty("security").EnumerateArray().SelectMany(r => r.EnumerateObject().Select(p => p.Name)).ToArray();
        Assert.Equal(["ApiKey", "Bearer"], schemes);
        Assert.Equal("#/components/schemas/ProblemDetails",
            operation.GetProperty("responses").GetProperty("401").GetProperty("content").GetProperty("application/problem+json").GetProperty("schema").GetProperty("$ref").GetString());
        Assert.True(operation.GetProperty("responses").TryGetProperty("502", out _));
    }

    [Fact]
    public async Task Document_GivesSubmitItsRequestAndAnswerSchemas()
    {
        var document = await DocumentAsync();
        var submit = document.GetProperty("paths").GetProperty("/v2/inference/{model}/{capability}").GetProperty("post");

        var body = submit.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema");
        Assert.Equal(["input"], body.GetProperty("required").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.True(body.GetProperty("properties").TryGetProperty("webhook_url", out _));
        var accepted = document.GetProperty("components").GetProperty("schemas").GetProperty("SubmitInferenceAccepted").GetProperty("properties");
        Assert.True(accepted.TryGetProperty("status_url", out _));
        Assert.Equal("#/components/schemas/HttpValidationProblemDetails",
            submit.GetProperty("responses").GetProperty("400").GetProperty("content").GetProperty("application/problem+json").GetProperty("schema").GetProperty("$ref").GetString());
    }

    [Fact]
    public async Task Document_TypesTheListQueryAsRekaDocumentsIt()
    {
        var parameters = (await DocumentAsync()).GetProperty("paths").GetProperty("/v2/inference/requests").GetProperty("get").GetProperty("parameters")
            .EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("schema"));

        Assert.Equal("integer", parameters["limit"].GetProperty("type").GetString());
        Assert.Equal("100", parameters["limit"].GetProperty("maximum").ToString());
        Assert.Equal("date-time", parameters["start"].GetProperty("format").GetString());
    }

    [Fact]
    public async Task Document_UploadsAreMultipartWithFileFields()
    {
        var paths = (await DocumentAsync()).GetProperty("paths");

        var video = paths.GetProperty("/v2/videos").GetProperty("post").GetProperty("requestBody").GetProperty("content").GetProperty("multipart/form-data").GetProperty("schema");
        Assert.Equal("binary", video.GetProperty("properties").GetProperty("file").GetProperty("format").GetString());
        var images = paths.GetProperty("/v1/images/upload").GetProperty("post").GetProperty("requestBody").GetProperty("content").GetProperty("multipart/form-data").GetProperty("schema");
        Assert.Equal("binary", images.GetProperty("properties").GetProperty("images").GetProperty("items").GetProperty("format").GetString());
        Assert.Equal(["metadata"], images.GetProperty("required").EnumerateArray().Select(e => e.GetString()!).ToArray());
    }

    [Theory]
    [InlineData("inference.completed", new[] { "COMPLETED" })]
    [InlineData("inference.failed", new[] { "FAILED" })]
    [InlineData("inference.cancelled", new[] { "CANCELLED", "CANCELED" })]
    public async Task Document_Webhooks_DescribeEachEventAsDelivered_WithTheStandardWebhooksHeadersAndAnswers(string type, string[] statuses)
    {
        var document = await DocumentAsync();
        Assert.StartsWith("3.1", document.GetProperty("openapi").GetString());
        var delivery = document.GetProperty("webhooks").GetProperty(type).GetProperty("post");

        var headers = delivery.GetProperty("parameters").EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => (In: p.GetProperty("in").GetString(), Required: p.GetProperty("required").GetBoolean(), Schema: p.GetProperty("schema")));
        Assert.Equal(["webhook-id", "webhook-signature", "webhook-timestamp"], headers.Keys.Order());
        Assert.All(headers.Values, header => Assert.Equal(("header", true), (header.In, header.Required)));
        // The documented shapes are those the gateway's own code makes.
        var requestId = "0f6c3d0e-4b8e-4f5a-9a63-2d1f5c7e8b90";
        Assert.Matches(headers["webhook-id"].Schema.GetProperty("pattern").GetString()!, InferenceEvent.IdFor(requestId, statuses[0]));
        Assert.Matches(headers["webhook-signature"].Schema.GetProperty("pattern").GetString()!,
            WebhookSigner.Sign(WebhookSecret.Generate(), "evt_0123456789abcdef01234567", 1_790_000_000, "{}"u8));
        Assert.Equal("integer", headers["webhook-timestamp"].Schema.GetProperty("type").GetString());

        var body = delivery.GetProperty("requestBody").GetProperty("content").GetProperty("application/json");
        var parts = body.GetProperty("schema").GetProperty("allOf").EnumerateArray().ToArray();
        Assert.Equal("#/components/schemas/InferenceEvent", parts[0].GetProperty("$ref").GetString());
        Assert.Equal(type, parts[1].GetProperty("properties").GetProperty("type").GetProperty("const").GetString());
        Assert.Equal(statuses, parts[1].GetProperty("properties").GetProperty("status").GetProperty("enum").EnumerateArray().Select(s => s.GetString()!));
        Assert.Equal("#/components/schemas/InferenceRequestItem", parts[1].GetProperty("properties").GetProperty("result").GetProperty("$ref").GetString());
        var example = body.GetProperty("examples").GetProperty(type).GetProperty("value");
        Assert.Equal(type, example.GetProperty("type").GetString());
        Assert.Equal(InferenceEvent.IdFor(example.GetProperty("request_id").GetString()!, example.GetProperty("status").GetString()!), example.GetProperty("id").GetString());

        var answers = delivery.GetProperty("responses");
        Assert.Equal(["2XX", "410", "default"], answers.EnumerateObject().Select(a => a.Name).Order());
        Assert.Contains("disabled", answers.GetProperty("410").GetProperty("description").GetString());
        Assert.Contains("5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h", answers.GetProperty("default").GetProperty("description").GetString());
    }

    [Theory]
    [InlineData("get", "/healthz")]
    [InlineData("get", "/readyz")]
    [InlineData("post", "/webhooks/inference")]
    public async Task Document_RoutesWithoutAKey_SayNoSchemeApplies(string method, string path)
    {
        var operation = (await DocumentAsync()).GetProperty("paths").GetProperty(path).GetProperty(method);

        Assert.Equal(JsonValueKind.Array, operation.GetProperty("security").ValueKind);
        Assert.Equal(0, operation.GetProperty("security").GetArrayLength());
        Assert.False(string.IsNullOrEmpty(operation.GetProperty("operationId").GetString()));
    }

    [Fact]
    public async Task Document_CallbackReceiver_TakesItsTokenInTheQuery()
    {
        var receiver = (await DocumentAsync()).GetProperty("paths").GetProperty("/webhooks/inference").GetProperty("post");

        var token = Assert.Single(receiver.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "token");
        Assert.Equal("query", token.GetProperty("in").GetString());
        Assert.True(token.GetProperty("required").GetBoolean());
    }

    [Theory]
    [InlineData("/v1/{path}", "get", "ForwardGetV1")]
    [InlineData("/v1/{path}", "delete", "ForwardDeleteV1")]
    [InlineData("/v1/{path}", "post", "ForwardPostV1")]
    [InlineData("/v2/{path}", "put", "ForwardPutV2")]
    [InlineData("/v2/{path}", "patch", "ForwardPatchV2")]
    public async Task Document_ForwardedOperations_HaveAnOperationId_AndRekasAnswerAs2XX(string path, string method, string operationId)
    {
        var operation = (await DocumentAsync()).GetProperty("paths").GetProperty(path).GetProperty(method);

        Assert.Equal(operationId, operation.GetProperty("operationId").GetString());
        Assert.True(operation.GetProperty("responses").TryGetProperty("2XX", out _));
    }

    [Fact]
    public async Task Document_EveryOperation_HasAnOperationIdASuccessAndADescribedTag()
    {
        var document = await DocumentAsync();
        var tags = document.GetProperty("tags").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!, t => t.TryGetProperty("description", out var d) ? d.GetString() : null);
        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(operation => (Name: $"{operation.Name} {path.Name}", operation.Value)))
            .ToList();

        Assert.All(operations, operation =>
        {
            Assert.True(operation.Value.TryGetProperty("operationId", out _), $"{operation.Name} has no operationId");
            Assert.True(operation.Value.GetProperty("responses").EnumerateObject().Any(r => r.Name.StartsWith('2')), $"{operation.Name} has no 2xx answer");
            Assert.All(operation.Value.GetProperty("tags").EnumerateArray(), tag =>
                Assert.False(string.IsNullOrEmpty(tags.GetValueOrDefault(tag.GetString()!)), $"{operation.Name}: tag {tag} has no description"));
        });
        var ids = operations.Select(o => o.Value.GetProperty("operationId").GetString()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public async Task SwaggerUi_IsServedWithoutAKey()
    {
        using var http = Gateway.CreateClient();

        var response = await http.GetAsync("/swagger/index.html");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("swagger-ui", await response.Content.ReadAsStringAsync());
    }
}
