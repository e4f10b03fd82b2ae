@echo off
rem Stops and removes the service installed by install.cmd, the installed exe and its native\
rem folder; keeps the state folder and its logs. Runs the package's exe (dist-win\), not the
rem installed one: Windows cannot delete a running image.
rem   uninstall.cmd [service uninstall options]
setlocal
if not defined AGENT_INSTALL_DIR set "AGENT_INSTALL_DIR=%ProgramFiles%\AppStreamCredentialAgent"
"%~dp0..\..\dist-win\appstream-creds.exe" service uninstall --prefix "%AGENT_INSTALL_DIR%" %*
exit /b %ERRORLEVEL%
