#!/usr/bin/env bash
# Install the Debian packages the Unreal SDK's CI tests need (idempotent: does nothing when present).
#   libwebsocketpp-dev  header-only WebSocket client used by the test harness (tests/harness.cpp)
#   libasio-dev         standalone Asio, the networking layer websocketpp runs on
#   nlohmann-json3-dev  header-only JSON reader for the golden-vector tests (integer-preserving)
# g++ (C++17) must already be present. Run as root (CI) or with sudo available.
set -euo pipefail

PACKAGES=(libwebsocketpp-dev libasio-dev nlohmann-json3-dev)

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "unreal SDK test runtime: already installed (${PACKAGES[*]})"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-runtime.sh: need root to install ${missing[*]} (run as root or install sudo)" >&2
        exit 1
    fi
fi

echo "unreal SDK test runtime: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "unreal SDK test runtime: installed ${missing[*]}"
