# A PowerShell script that uses the fleet's machine role through the local agent.
# With `service install -SetMachineEnv` every new process already has the two AWS_CONTAINER_*
# variables and nothing below is needed; otherwise read them from the agent's discovery file.
# The account running this must be able to read the token (SYSTEM, Administrators or -TokenGroup).
$ErrorActionPreference = 'Stop'
$agent = Get-Content "$env:ProgramData\AppStreamCredentialAgent\agent.json" -Raw | ConvertFrom-Json
$env:AWS_CONTAINER_CREDENTIALS_FULL_URI = $agent.credentialsUrl
# AWS Tools for PowerShell / the .NET SDK read the token itself; newer SDKs also accept *_TOKEN_FILE.
$env:AWS_CONTAINER_AUTHORIZATION_TOKEN = (Get-Content $agent.tokenFile -Raw).Trim()

# The SDK's default chain now asks the agent, and asks again before the credentials expire.
Get-STSCallerIdentity
Get-S3Object -BucketName amzn-s3-demo-bucket -MaxKey 5

# Or, for one command, without touching the environment:
#   & "$env:ProgramFiles\AppStreamCredentialAgent\bin\appstream-creds.bat" exec -- aws sts get-caller-identity
