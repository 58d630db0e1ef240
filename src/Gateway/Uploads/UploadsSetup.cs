using FluentValidation;

namespace Reka.Gateway.Uploads;

/// <summary>Registers the upload feature.</summary>
internal static class UploadsSetup
{
    public static WebApplicationBuilder AddUploads(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IValidator<MultipartUpload>, MultipartUploadValidator>();
        return builder;
    }
}
