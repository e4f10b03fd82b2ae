@echo off
rem Installs (or upgrades) the AppStream credential agent as a Windows service, hosted by NSSM
rem (native, no .NET), without PowerShell: Server Core images, session scripts, Wine. Copies the
rem built dist\ folder to the install folder and runs `service install --host nssm`, which does
rem all the work (service, recovery actions, ACLs, machine environment). Run it again to upgrade.
rem   install.cmd [service install options, e.g. --set-machine-env --token-group "AppStream Scripts"]
rem AGENT_NODE_PATH (default %ProgramFiles%\nodejs\node.exe) and AGENT_INSTALL_DIR
rem (default %ProgramFiles%\AppStreamCredentialAgent) override the defaults.
setlocal
if not defined AGENT_NODE_PATH set "AGENT_NODE_PATH=%ProgramFiles%\nodejs\node.exe"
if not defined AGENT_INSTALL_DIR set "AGENT_INSTALL_DIR=%ProgramFiles%\AppStreamCredentialAgent"
xcopy "%~dp0..\..\dist" "%AGENT_INSTALL_DIR%\dist" /e /i /y /q >nul
if errorlevel 1 exit /b 1
"%AGENT_NODE_PATH%" "%AGENT_INSTALL_DIR%\dist\appstream-creds.cjs" service install --host nssm --prefix "%AGENT_INSTALL_DIR%" --node-path "%AGENT_NODE_PATH%" %*
exit /b %ERRORLEVEL%
