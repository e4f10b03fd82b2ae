#Requires -RunAsAdministrator
<#
.SYNOPSIS
  Installs (or upgrades) the AppStream credential agent as a Windows service.
.DESCRIPTION
  Runs the built dist-win\appstream-creds.exe (`npm run build:exe`) as `service install`, which
  does all the work: stops a running service (an upgrade), copies the exe and its native\ folder
  to <InstallDir>\bin\, the NSSM service, recovery actions, ACLs, machine environment. The same
  as install.cmd (which is what runs under Wine). Run it again to upgrade.
.EXAMPLE
  .\install.ps1 -SetMachineEnv -TokenGroup "AppStream Scripts"
#>
[CmdletBinding()]
param(
  [string]$InstallDir = "$env:ProgramFiles\AppStreamCredentialAgent",
  [switch]$SetMachineEnv,
  [string]$TokenGroup
)
$ErrorActionPreference = 'Stop'

$cliArgs = @('service', 'install', '--host', 'nssm', '--prefix', $InstallDir)
if ($SetMachineEnv) { $cliArgs += '--set-machine-env' }
if ($TokenGroup) { $cliArgs += @('--token-group', $TokenGroup) }

& (Join-Path $PSScriptRoot '..\..\dist-win\appstream-creds.exe') @cliArgs
exit $LASTEXITCODE
