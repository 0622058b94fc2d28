#!/usr/bin/env bash
# Install the given Debian packages that are not installed yet (idempotent; the SDKs' install-runtime.sh
# scripts share it). Needs root or sudo for apt-get; prints what it did.
#   usage: clients/apt-install.sh PACKAGE...
set -euo pipefail

missing=()
for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "apt-install: need root (or sudo) to install ${missing[*]}; run: apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi
echo "apt-install: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "apt-install: installed ${missing[*]}"
