#!/bin/sh
# Install what the web viewer's browser tests and benchmark need, only when missing (safe to run again):
#   * Debian's chromium (binary /usr/bin/chromium), driven headless;
#   * playwright-core from npm (pinned in server/viewer/tests_js/package-lock.json) via `npm ci`.
# Usage: server/viewer/install-runtime.sh   (from anywhere; needs root or sudo for apt-get, and node + npm)
set -eu

ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
JS="$ROOT/server/viewer/tests_js"

if ! command -v chromium >/dev/null 2>&1; then
    echo "installing Debian package chromium (headless browser for the viewer tests)"
    bash "$ROOT/clients/apt-install.sh" chromium fonts-dejavu-core
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "install-runtime: npm is missing; install Debian's nodejs and npm (apt-get install nodejs npm)" >&2
    exit 1
fi
WANT=$(node -p "require('$JS/package.json').dependencies['playwright-core']")
HAVE=$(node -p "try { require('$JS/node_modules/playwright-core/package.json').version } catch (e) { '' }")
if [ "$WANT" != "$HAVE" ]; then
    echo "installing playwright-core into server/viewer/tests_js (npm ci)"
    (cd "$JS" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "viewer runtime ready: $(command -v chromium), playwright-core $(node -p "require('$JS/node_modules/playwright-core/package.json').version")"
