#!/usr/bin/env bash
# Install the Debian packages the Unreal SDK's CI tests need (idempotent: does nothing when present).
#   libwebsocketpp-dev  header-only WebSocket client used by the test harness (tests/harness.cpp)
#   libasio-dev         standalone Asio, the networking layer websocketpp runs on
#   nlohmann-json3-dev  header-only JSON reader for the golden-vector tests (integer-preserving)
# g++ (C++17) must already be present. Run as root (CI) or with sudo available.
set -euo pipefail

PACKAGES=(libwebsocketpp-dev libasio-dev nlohmann-json3-dev)

bash "$(dirname -- "$0")/../apt-install.sh" "${PACKAGES[@]}"
echo "unreal SDK test runtime: ready (${PACKAGES[*]})"
