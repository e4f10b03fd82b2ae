// GetCallerIdentity with the AWS SDK for .NET's own credential resolution, as any script on an
// AppStream image would call it:
//   StsCaller --endpoint URL                 the default credential chain (environment, container, IMDS)
//   StsCaller --endpoint URL --profile NAME  a named profile from the shared files, as AWS Tools for
//                                            PowerShell's -ProfileName resolves it
// Prints one JSON line: the caller's Arn, the key id it signed with, the credentials class and
// the AWSSDK.Core file version that ran. Exit 3 when the named profile does not exist.
using System.Reflection;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;

string? endpoint = null, profile = null;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    if (args[i] == "--endpoint") endpoint = args[i + 1];
    else if (args[i] == "--profile") profile = args[i + 1];
}
if (endpoint is null)
{
    Console.Error.WriteLine("usage: StsCaller --endpoint URL [--profile NAME]");
    return 2;
}

var config = new AmazonSecurityTokenServiceConfig { ServiceURL = endpoint, AuthenticationRegion = "us-east-1" };
AWSCredentials? explicitCredentials = null;
if (profile is not null && !new CredentialProfileStoreChain().TryGetAWSCredentials(profile, out explicitCredentials))
{
    Console.Error.WriteLine($"no profile named {profile}");
    return 3;
}
using var client = explicitCredentials is null ? new AmazonSecurityTokenServiceClient(config) : new AmazonSecurityTokenServiceClient(explicitCredentials, config);
// AWSSDK.Core 3.7.202 signs User-Agent; moto recomputes signatures with botocore's signer, which
// leaves User-Agent out, so every such call fails SignatureDoesNotMatch on moto. Removed before
// signing, the header is not signed on any version.
client.BeforeRequestEvent += (_, e) => { if (e is WebServiceRequestEventArgs w) w.Headers.Remove("User-Agent"); };
var identity = await client.GetCallerIdentityAsync(new GetCallerIdentityRequest());

// What the default chain resolved to: 4.x resolves through DefaultAWSCredentialsIdentityResolver
// (absent from 3.7), 3.7 through FallbackCredentialsFactory; both cache what they found.
var used = explicitCredentials;
if (used is null)
{
    var resolver = typeof(AWSCredentials).Assembly.GetType("Amazon.Runtime.Credentials.DefaultAWSCredentialsIdentityResolver");
    var resolve = resolver?.GetMethod("GetCredentials", BindingFlags.Static | BindingFlags.Public, new[] { typeof(IClientConfig) });
    used = resolve is not null ? (AWSCredentials?)resolve.Invoke(null, new object[] { config }) : FallbackCredentialsFactory.GetCredentials();
}
var core = typeof(AmazonServiceClient).Assembly.GetCustomAttribute<AssemblyFileVersionAttribute>()?.Version;
Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, string?>
{
    ["Arn"] = identity.Arn,
    ["accessKeyId"] = used is null ? null : (await used.GetCredentialsAsync()).AccessKey,
    ["provider"] = used?.GetType().Name,
    ["core"] = core,
}));
return 0;
