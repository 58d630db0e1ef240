# Reka gateway, and the Reka simulator for local stacks (deploy/docker-compose.yml).
#
#   docker build -t reka-gateway .                               # the gateway (last stage: the default target)
#   docker build --target simulator -t reka-simulator .          # the simulator
#
# tests/Gateway.Tests/Deploy/DockerfileTests.cs runs this file's gateway publish command and
# starts what it produces; keep that RUN line as it is.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore from the project files alone first, so that a source change reuses the restored packages.
COPY global.json NuGet.config Directory.Build.props Directory.Packages.props ./
COPY src/Gateway/Gateway.csproj src/Gateway/
COPY src/Reka.Simulator/Reka.Simulator.csproj src/Reka.Simulator/
RUN dotnet restore src/Gateway/Gateway.csproj && dotnet restore src/Reka.Simulator/Reka.Simulator.csproj
# The sources (.dockerignore keeps bin, obj, node_modules... out).
COPY . .
RUN dotnet publish src/Gateway/Gateway.csproj -c Release -o /app/gateway
RUN dotnet publish src/Reka.Simulator/Reka.Simulator.csproj -c Release -o /app/simulator

# A Reka-compatible upstream for local runs (not for production).
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS simulator
WORKDIR /app
COPY --from=build /app/simulator .
USER $APP_UID
# --urls below decides the port; clearing the image's default avoids a warning about it.
ENV ASPNETCORE_HTTP_PORTS=
EXPOSE 8081
ENTRYPOINT ["dotnet", "Reka.Simulator.dll", "--urls", "http://+:8081"]

# The gateway: the default target. Its files belong to root and are read-only for the app user.
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS gateway
WORKDIR /app
COPY --from=build /app/gateway .
# The non-root user the aspnet image provides (app, uid 1654; deploy/deployment.yaml runs as it).
USER $APP_UID
ENV ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
# Liveness without curl (the image has none): bash's /dev/tcp sends GET /healthz and the status
# line must carry 200.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${ASPNETCORE_HTTP_PORTS:-8080} && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r status <&3 && [[ ${status:9:3} == 200 ]]"]
ENTRYPOINT ["dotnet", "Gateway.dll"]
