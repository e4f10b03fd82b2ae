#!/bin/sh
# App block setup script (Linux Elastic fleets). AppStream runs it as root when it mounts the
# app block, before sessions start. The app block holds this folder's layout:
#   <app block>/dist/            the agent (`npm run build` output; runs with a plain node)
#   <app block>/node/bin/node    a Node.js >= 20 binary, when the image has none
# It writes the launcher that the session scripts (config.linux.json) call with `start`/`stop`.
set -eu
block=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
node=$(command -v node 2>/dev/null || true)
[ -x "$block/node/bin/node" ] && node="$block/node/bin/node"
if [ -z "$node" ]; then
  echo "setup-app-block: no node found; put a Node.js >= 20 binary at $block/node/bin/node" >&2
  exit 1
fi
[ -f "$block/dist/appstream-creds.cjs" ] || { echo "setup-app-block: $block/dist/appstream-creds.cjs is missing" >&2; exit 1; }
# The state folder is root's own (the agent refuses one others can write).
install -d -m 0755 -o root -g root "${APPSTREAM_CREDS_STATE_DIR:-/var/lib/appstream-credential-agent}"
# The launcher lives where config.linux.json expects it (the app block mount point).
launcher="$block/appstream-creds"
if [ ! -x "$launcher" ] || ! grep -q "$block/dist/appstream-creds.cjs" "$launcher" 2>/dev/null; then
  tmp=$(mktemp "$block/.appstream-creds.XXXXXX")
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$node" "$block/dist/appstream-creds.cjs" > "$tmp"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$launcher"
fi
echo "setup-app-block: $launcher ready (session scripts run: start --timeout 45s / stop)"
