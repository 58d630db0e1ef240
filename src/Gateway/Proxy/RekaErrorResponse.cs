using System.Text.Json.Nodes;

namespace Reka.Gateway.Proxy;

/// <summary>Reka's error body: <c>{"error": {"type", "message", "param"?, "details"?}}</c>. Upstream errors pass through in this shape.</summary>
public sealed record RekaErrorResponse(RekaError Error);

/// <summary>The inside of <see cref="RekaErrorResponse"/>.</summary>
public sealed record RekaError(string Type, string Message, string? Param, JsonNode? Details);
