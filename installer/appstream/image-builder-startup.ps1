# Image builder startup task (Windows): wait for the VPC network interface and the machine-role
# credentials, then run your own step with them. Register it to run at boot as SYSTEM, e.g.:
#   schtasks /Create /TN "AppStream setup" /SC ONSTART /RU SYSTEM /RL HIGHEST `
#     /TR "powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\Scripts\image-builder-startup.ps1"
$ErrorActionPreference = 'Stop'
$creds = "$env:ProgramFiles\AppStreamCredentialAgent\bin\appstream-creds.bat"

# Exit codes: 3 = no network interface in time, 4 = no credentials in time (see `appstream-creds --help`).
& $creds wait --timeout 300s
if ($LASTEXITCODE -ne 0) { Write-Error "appstream-creds wait failed with exit code $LASTEXITCODE"; exit $LASTEXITCODE }

# Your step. `exec` gives the command the machine role (and follows refreshes while it runs).
& $creds exec -- aws s3 sync s3://amzn-s3-demo-bucket/tools C:\Tools
exit $LASTEXITCODE
