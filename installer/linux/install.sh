#!/bin/sh
# Installs appstream-credential-agent on a Linux fleet image (Amazon Linux 2, RHEL 8, Rocky 8).
#
#   sudo installer/linux/install.sh [--set-machine-env] [other `service install` options]
#   DESTDIR=/tmp/pkgroot installer/linux/install.sh        # packaging: files only, no systemctl/useradd
#
# Environment: PREFIX (default /opt/appstream-credential-agent), DESTDIR (staging root),
# NODE (node >= 20 that runs the installer and the service; default: node on PATH),
# DIST (the built dist/ folder; default: ../../dist beside this script).
#
# It copies dist/ to $DESTDIR$PREFIX/dist, then the bundle itself writes the systemd unit,
# the launcher and (with --set-machine-env) the profile snippets, so no unit text lives here.
# Every path it creates is listed in $DESTDIR$PREFIX/install-manifest.txt for uninstall.sh.
#
# Port: the agent listens on 127.0.0.1:920 by default, a privileged port, so no unprivileged user can
# take it while the agent restarts (README "Port squatting"); the unit grants the service
# account CAP_NET_BIND_SERVICE for it. `--port N` picks another (1024 and above reopen that window).
set -eu

PREFIX=${PREFIX:-/opt/appstream-credential-agent}
DESTDIR=${DESTDIR:-}
here=$(cd "$(dirname "$0")" && pwd)
DIST=${DIST:-$here/../../dist}
NODE=${NODE:-$(command -v node || true)}

if [ -z "$NODE" ]; then echo "install.sh: node not found; set NODE=/path/to/node (Node.js >= 20)" >&2; exit 2; fi
if [ ! -f "$DIST/appstream-creds.cjs" ]; then echo "install.sh: $DIST/appstream-creds.cjs is missing; run npm run build" >&2; exit 2; fi

target="$DESTDIR$PREFIX"
manifest="$target/install-manifest.txt"
new_paths=""
# Remember $1 and each missing parent (up to DESTDIR) before creating it.
remember() {
  p=$1
  while [ ! -e "$p" ] && [ "$p" != "/" ] && [ "$p" != "$DESTDIR" ]; do
    new_paths="$new_paths${p#"$DESTDIR"}
"
    p=$(dirname "$p")
  done
}
remember "$target/dist"
mkdir -p "$target"
rm -rf "$target/dist.new"
cp -R "$DIST" "$target/dist.new"
rm -rf "$target/dist"
mv "$target/dist.new" "$target/dist"
printf '%s' "$new_paths" >> "$manifest"

if [ -n "$DESTDIR" ]; then set -- --root "$DESTDIR" "$@"; fi
exec "$NODE" "$target/dist/appstream-creds.cjs" service install --prefix "$PREFIX" --node-path "$NODE" --manifest "$manifest" "$@"
