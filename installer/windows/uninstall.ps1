#Requires -RunAsAdministrator
<#
.SYNOPSIS
  Removes the AppStream credential agent service, the installed exe and its native\ folder;
  keeps the state folder and logs (%ProgramData%\AppStreamCredentialAgent).
.DESCRIPTION
  Runs the package's dist-win\appstream-creds.exe as `service uninstall` (stops and removes the
  service, the machine environment and <InstallDir>\bin\), then deletes <InstallDir> if empty.
  The same as uninstall.cmd.
.EXAMPLE
  .\uninstall.ps1
#>
[CmdletBinding()]
param(
  [string]$InstallDir = "$env:ProgramFiles\AppStreamCredentialAgent"
)
$ErrorActionPreference = 'Stop'

& (Join-Path $PSScriptRoot '..\..\dist-win\appstream-creds.exe') service uninstall --prefix $InstallDir
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
try { [System.IO.Directory]::Delete($InstallDir) } catch { Write-Verbose "kept $InstallDir (not empty)" }
exit 0
