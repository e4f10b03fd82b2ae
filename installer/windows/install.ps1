#Requires -RunAsAdministrator
<#
.SYNOPSIS
  Installs (or upgrades) the AppStream credential agent as a Windows service.
.DESCRIPTION
  Copies the built dist\ folder to <InstallDir>\dist and runs
  `node <InstallDir>\dist\appstream-creds.cjs service install`, which does all the work
  (WinSW service, recovery actions, ACLs, machine environment). Run it again to upgrade.
.EXAMPLE
  .\install.ps1 -SetMachineEnv -TokenGroup "AppStream Scripts"
#>
[CmdletBinding()]
param(
  [string]$NodePath = "$env:ProgramFiles\nodejs\node.exe",
  [string]$InstallDir = "$env:ProgramFiles\AppStreamCredentialAgent",
  [switch]$SetMachineEnv,
  [string]$TokenGroup
)
$ErrorActionPreference = 'Stop'

$cliArgs = @('service', 'install', '--prefix', $InstallDir, '--node-path', $NodePath)
if ($SetMachineEnv) { $cliArgs += '--set-machine-env' }
if ($TokenGroup) { $cliArgs += @('--token-group', $TokenGroup) }

New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
Copy-Item -Path (Join-Path $PSScriptRoot '..\..\dist') -Destination $InstallDir -Recurse -Force
& $NodePath (Join-Path $InstallDir 'dist\appstream-creds.cjs') @cliArgs
exit $LASTEXITCODE
