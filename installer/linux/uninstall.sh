#!/bin/sh
# Removes what install.sh added, using $DESTDIR$PREFIX/install-manifest.txt. Keeps the state
# folder and its logs (/var/lib/appstream-credential-agent), and the appstream-creds account.
#
#   sudo installer/linux/uninstall.sh
#   DESTDIR=/tmp/pkgroot installer/linux/uninstall.sh
set -eu

PREFIX=${PREFIX:-/opt/appstream-credential-agent}
DESTDIR=${DESTDIR:-}
NODE=${NODE:-$(command -v node || true)}
target="$DESTDIR$PREFIX"
manifest="$target/install-manifest.txt"

if [ ! -f "$manifest" ]; then echo "uninstall.sh: $manifest not found; nothing installed by install.sh here" >&2; exit 1; fi
if [ -z "$NODE" ]; then echo "uninstall.sh: node not found; set NODE=/path/to/node" >&2; exit 2; fi

# The service first: stop and disable it (live), remove the unit, launcher and machine variables.
if [ -n "$DESTDIR" ]; then set -- --root "$DESTDIR" "$@"; fi
"$NODE" "$target/dist/appstream-creds.cjs" service uninstall --prefix "$PREFIX" "$@"

entries=$(sort -r -u "$manifest")
rm -f "$manifest"
rm -rf "$target/dist"
# Deepest first: files go, folders go only when empty.
printf '%s\n' "$entries" | while IFS= read -r p; do
  [ -n "$p" ] || continue
  if [ -d "$DESTDIR$p" ] && [ ! -L "$DESTDIR$p" ]; then rmdir "$DESTDIR$p" 2>/dev/null || true
  else rm -f "$DESTDIR$p"; fi
done
