@echo off
rem Stops and removes the service installed by install.cmd; keeps the state folder and its logs.
rem   uninstall.cmd [service uninstall options]
setlocal
if not defined AGENT_NODE_PATH set "AGENT_NODE_PATH=%ProgramFiles%\nodejs\node.exe"
if not defined AGENT_INSTALL_DIR set "AGENT_INSTALL_DIR=%ProgramFiles%\AppStreamCredentialAgent"
"%AGENT_NODE_PATH%" "%AGENT_INSTALL_DIR%\dist\appstream-creds.cjs" service uninstall --prefix "%AGENT_INSTALL_DIR%" %*
exit /b %ERRORLEVEL%
