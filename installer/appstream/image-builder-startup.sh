#!/bin/sh
# Image builder startup task (Linux): wait for the VPC network interface and the machine-role
# credentials, then run your own step with them. Run it at boot, e.g. from a systemd oneshot
# unit with After=appstream-credential-agent.service, or `@reboot` in root's crontab.
set -eu
creds=/opt/appstream-credential-agent/bin/appstream-creds

# Exit codes: 3 = no network interface in time, 4 = no credentials in time (see `appstream-creds --help`).
"$creds" wait --timeout 300s

# Your step. `exec` gives the command the machine role (and follows refreshes while it runs).
exec "$creds" exec -- aws s3 sync s3://amzn-s3-demo-bucket/tools /opt/tools
