# App block setup script (Windows Elastic fleets). AppStream runs it as SYSTEM when it mounts the
# app block, before sessions start. The app block holds:
#   <app block>\dist\            the agent (`npm run build` output; runs with a plain node.exe)
# Node.js is present under %PROGRAMFILES%\nodejs on AppStream Windows instances (the AppStream
# agent uses it). It writes the launcher that the session scripts (config.json) call.
$ErrorActionPreference = 'Stop'
$block = Split-Path -Parent $MyInvocation.MyCommand.Path
$node = Join-Path $env:ProgramFiles 'nodejs\node.exe'
if (-not (Test-Path $node)) { Write-Error "setup-app-block: no node.exe at $node"; exit 1 }
$cli = Join-Path $block 'dist\appstream-creds.cjs'
if (-not (Test-Path $cli)) { Write-Error "setup-app-block: $cli is missing"; exit 1 }
# The state folder under ProgramData, writable by SYSTEM and Administrators only.
$state = Join-Path $env:ProgramData 'AppStreamCredentialAgent'
New-Item -ItemType Directory -Force -Path $state | Out-Null
& icacls.exe $state /inheritance:r /grant:r 'SYSTEM:(OI)(CI)F' 'Administrators:(OI)(CI)F' 'Users:(OI)(CI)RX' | Out-Null
$launcher = Join-Path $block 'appstream-creds.bat'
Set-Content -Path $launcher -Encoding ASCII -Value "@echo off`r`n`"$node`" `"$cli`" %*`r`n"
Write-Output "setup-app-block: $launcher ready (session scripts run: start --timeout 45s / stop)"
