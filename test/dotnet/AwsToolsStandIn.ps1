# Stand-ins for the two AWS Tools for PowerShell cmdlets the shipped samples call, built the way
# AWS Tools builds them: on the AWS SDK for .NET, loaded with Add-Type from the assemblies NuGet
# restored. Dot-source it with the folder holding AWSSDK.Core.dll and AWSSDK.SecurityToken.dll.
param([Parameter(Mandatory)] [string] $SdkDir, [Parameter(Mandatory)] [string] $StsEndpoint)
$ErrorActionPreference = 'Stop'
Add-Type -Path (Join-Path $SdkDir 'AWSSDK.Core.dll')
Add-Type -Path (Join-Path $SdkDir 'AWSSDK.SecurityToken.dll')
# Global: the cmdlets are called from other scripts, whose script scope is their own.
$global:StandInStsEndpoint = $StsEndpoint

# Like AWS Tools: -ProfileName reads that profile from the shared files (credential_process
# included) and fails when it is missing; without it the SDK's default chain decides.
function Get-STSCallerIdentity {
  param([string] $ProfileName)
  $config = [Amazon.SecurityToken.AmazonSecurityTokenServiceConfig]::new()
  $config.ServiceURL = $global:StandInStsEndpoint
  $config.AuthenticationRegion = 'us-east-1'
  if ($ProfileName) {
    $credentials = $null
    if (-not [Amazon.Runtime.CredentialManagement.CredentialProfileStoreChain]::new().TryGetAWSCredentials($ProfileName, [ref] $credentials)) {
      throw "Get-STSCallerIdentity: no profile named $ProfileName"
    }
    $client = [Amazon.SecurityToken.AmazonSecurityTokenServiceClient]::new($credentials, $config)
  } else {
    $client = [Amazon.SecurityToken.AmazonSecurityTokenServiceClient]::new($config)
  }
  try {
    $client.GetCallerIdentityAsync([Amazon.SecurityToken.Model.GetCallerIdentityRequest]::new()).GetAwaiter().GetResult()
  } finally {
    $client.Dispose()
  }
}

# The sample lists a bucket after proving the identity; no S3 is part of these tests.
function Get-S3Object { param([string] $BucketName, [int] $MaxKey) Write-Output "Get-S3Object $BucketName (not called here)" }
