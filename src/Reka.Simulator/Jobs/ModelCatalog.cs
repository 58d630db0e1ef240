namespace Reka.Simulator.Jobs;

/// <summary>
/// The endpoints <c>GET /v2/inference/models</c> advertises: those Reka's docs name. Submit accepts
/// any <c>{model}/{capability}</c>, because new models appear upstream without notice.
/// </summary>
public static class ModelCatalog
{
    /// <summary>The advertised models, in a fixed order.</summary>
    public static ModelList Models { get; } = new(
    [
        Model("sora-2-pro", "image-to-video", "OpenAI Sora 2 Pro: animates an image into a video."),
        Model("kling-v3-pro", "image-to-video", "Kling v3 Pro: animates an image into a video."),
        Model("veo-3.1", "image-to-video", "Google Veo 3.1: animates an image into a video."),
        Model("nano-banana", "text-to-image", "Google Nano Banana: generates an image from text."),
        Model("nano-banana", "edit", "Google Nano Banana: edits an image from instructions."),
        Model("sam3", "image-to-bbox", "Meta SAM 3: finds bounding boxes of objects in an image."),
    ]);

    private static ModelInfo Model(string modelId, string capability, string description) =>
        new($"{modelId}/{capability}", modelId, capability, description);
}
