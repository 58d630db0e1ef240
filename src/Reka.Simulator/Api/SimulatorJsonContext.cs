using System.Text.Json.Serialization;
using Reka.Simulator.Chat;
using Reka.Simulator.Control;
using Reka.Simulator.Faults;
using Reka.Simulator.Jobs;
using Reka.Simulator.Search;
using Reka.Simulator.Stats;
using Reka.Simulator.Uploads;
using Reka.Simulator.Webhooks;

namespace Reka.Simulator.Api;

/// <summary>
/// Source-generated (reflection-free) JSON for every body the simulator reads or writes, in
/// Reka's snake_case. Handlers pass its type infos explicitly, so no other options are involved.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(ErrorEnvelope))]
[JsonSerializable(typeof(SubmitAccepted))]
[JsonSerializable(typeof(InferenceList<InferenceItem>))]
[JsonSerializable(typeof(InferenceList<InferenceItemWithPayloads>))]
[JsonSerializable(typeof(InferenceItemWithPayloads))]
[JsonSerializable(typeof(InferenceStatus))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ChatRequest))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(ResultList<ImageUploadResult>))]
[JsonSerializable(typeof(ResultList<ImageRecord>))]
[JsonSerializable(typeof(ResultList<VideoResource>))]
[JsonSerializable(typeof(ImageRecord))]
[JsonSerializable(typeof(VideoResource))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(SearchRequest))]
[JsonSerializable(typeof(SearchResponse))]
[JsonSerializable(typeof(WebhookPayload))]
[JsonSerializable(typeof(JobDetails))]
[JsonSerializable(typeof(CompleteRequest))]
[JsonSerializable(typeof(ScriptedFault))]
[JsonSerializable(typeof(FaultsPending))]
[JsonSerializable(typeof(RuntimeSettings))]
[JsonSerializable(typeof(StatsSnapshot))]
public sealed partial class SimulatorJsonContext : JsonSerializerContext;
