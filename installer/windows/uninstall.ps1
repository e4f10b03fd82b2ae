#Requires -RunAsAdministrator
<#
.SYNOPSIS
  Removes the AppStream credential agent service and its files; keeps the state folder and logs
  (%ProgramData%\AppStreamCredentialAgent).
.DESCRIPTION
  Runs `node <InstallDir>\dist\appstream-creds.cjs service uninstall` (stops and removes the
  service and the machine environment), then deletes <InstallDir>\dist and <InstallDir> if empty.
.EXAMPLE
  .\uninstall.ps1
#>
[CmdletBinding()]
param(
  [string]$NodePath = "$env:ProgramFiles\nodejs\node.exe",
  [string]$InstallDir = "$env:ProgramFiles\AppStreamCredentialAgent"
)
$ErrorActionPreference = 'Stop'

& $NodePath (Join-Path $InstallDir 'dist\appstream-creds.cjs') service uninstall --prefix $InstallDir
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
Remove-Item -LiteralPath (Join-Path $InstallDir 'dist') -Recurse -Force -ErrorAction SilentlyContinue
try { [System.IO.Directory]::Delete($InstallDir) } catch { Write-Verbose "kept $InstallDir (not empty)" }
exit 0
