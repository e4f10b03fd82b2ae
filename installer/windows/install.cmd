@echo off
rem Installs (or upgrades) the AppStream credential agent as a Windows service, hosted by NSSM
rem (native, no .NET), without PowerShell: Server Core images, session scripts, Wine. Runs the
rem built appstream-creds.exe (dist-win\, `npm run build:exe`) as `service install --host nssm`,
rem which does all the work: stops a running service (an upgrade), copies the exe and its
rem native\ folder to <install folder>\bin\, the service, recovery actions, ACLs, machine
rem environment. No Node is needed on the image. Run it again to upgrade.
rem   install.cmd [service install options, e.g. --set-machine-env --token-group "AppStream Scripts"]
rem AGENT_INSTALL_DIR (default %ProgramFiles%\AppStreamCredentialAgent) overrides the install folder.
setlocal
if not defined AGENT_INSTALL_DIR set "AGENT_INSTALL_DIR=%ProgramFiles%\AppStreamCredentialAgent"
"%~dp0..\..\dist-win\appstream-creds.exe" service install --host nssm --prefix "%AGENT_INSTALL_DIR%" %*
exit /b %ERRORLEVEL%
