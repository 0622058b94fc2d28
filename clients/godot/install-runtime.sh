#!/bin/sh
# Install what tests/test_sdk_godot.py needs, only when missing (safe to run again):
#   * gdtoolkit (gdparse/gdlint for Godot 4 GDScript) into the repository's .venv;
#   * Debian's headless Godot 3 engine (package godot3-server, binary /usr/bin/godot3-server),
#     which executes the SDK's portable core against the golden vectors and a live server.
# Usage: clients/godot/install-runtime.sh   (from anywhere; needs root or sudo for apt-get)
set -eu

GDTOOLKIT_VERSION=4.5.0
ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
PIP="$ROOT/.venv/bin/pip"

if ! "$ROOT/.venv/bin/python" -c "import gdtoolkit" 2>/dev/null \
   || [ "$("$ROOT/.venv/bin/python" -c 'import importlib.metadata as m; print(m.version("gdtoolkit"))')" != "$GDTOOLKIT_VERSION" ]; then
    echo "installing gdtoolkit==$GDTOOLKIT_VERSION into .venv"
    "$PIP" install --quiet "gdtoolkit==$GDTOOLKIT_VERSION"
fi

if ! command -v godot3-server >/dev/null 2>&1; then
    echo "installing Debian package godot3-server (headless Godot 3.2)"
    bash "$ROOT/clients/apt-install.sh" godot3-server
fi
echo "godot runtime ready: $(command -v godot3-server), gdtoolkit $GDTOOLKIT_VERSION"
