#!/usr/bin/env bash
# Compile the Unity SDK with Mono's mcs (the CI proof that the runtime builds without Unity).
#
#   clients/unity/build.sh [OUT_DIR]     (default: clients/unity/Build~, ignored by Unity)
#
# 1. OUT_DIR/Worldloom.Runtime.dll: Runtime/Core + Runtime/Generated (everything that does not need Unity).
# 2. OUT_DIR/Worldloom.Harness.exe: the console test harness (Tests~/*.cs).
# 3. Type-checks Runtime/Unity and the sample (Samples~) against Tests~/UnityStubs, a stub of the few
#    UnityEngine members they use; real compilation of those happens inside Unity.
# -langversion:7.2 is the newest mcs accepts, well inside Unity 2021.3's C# 9; warnings are errors.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${1:-$HERE/Build~}"
mkdir -p "$OUT"
if ! command -v mcs >/dev/null 2>&1; then
    echo "build.sh: mcs not found; run clients/unity/install-runtime.sh (installs Debian's mono-mcs)" >&2
    exit 2
fi
cd "$HERE"
MCS=(mcs -nologo -langversion:7.2 -warnaserror)
"${MCS[@]}" -target:library -out:"$OUT/Worldloom.Runtime.dll" -recurse:'Runtime/Core/*.cs' -recurse:'Runtime/Generated/*.cs'
"${MCS[@]}" -target:exe -out:"$OUT/Worldloom.Harness.exe" -r:"$OUT/Worldloom.Runtime.dll" Tests~/*.cs
"${MCS[@]}" -target:library -out:"$OUT/UnityEngine.dll" Tests~/UnityStubs/*.cs
"${MCS[@]}" -target:library -out:"$OUT/Worldloom.UnityTypecheck.dll" -r:"$OUT/Worldloom.Runtime.dll" -r:"$OUT/UnityEngine.dll" \
    Runtime/Unity/*.cs Samples~/WorldViewer/*.cs
echo "build.sh: built $OUT/Worldloom.Runtime.dll and $OUT/Worldloom.Harness.exe; Runtime/Unity and Samples~ type-check"
