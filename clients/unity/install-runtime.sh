#!/usr/bin/env bash
# Install the Mono runtime and C# compiler the Unity SDK's CI needs (Debian packages), only when missing.
#
# Why these packages: `mono-mcs` brings the `mcs` compiler plus, as its dependencies, `mono-runtime`
# (the `mono` command) and the class libraries the SDK uses (mscorlib, System with ClientWebSocket,
# System.Core). Nothing else is needed, so the much larger `mono-devel`/`mono-complete` are not installed.
# Idempotent: does nothing when `mcs` and `mono` already run. Needs root (or sudo) for apt-get.
set -euo pipefail

if command -v mcs >/dev/null 2>&1 && command -v mono >/dev/null 2>&1; then
    echo "install-runtime: mono $(mono --version | head -n1 | sed 's/.*version \([^ ]*\).*/\1/') and mcs already installed"
    exit 0
fi

bash "$(dirname -- "$0")/../apt-install.sh" mono-mcs
echo "install-runtime: installed $(mono --version | head -n1)"
