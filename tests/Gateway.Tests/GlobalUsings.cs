global using System.Net;
global using System.Net.Http.Json;
global using System.Text;
global using System.Text.Json;
global using Reka.Gateway.Tests.Support;
global using Xunit;
