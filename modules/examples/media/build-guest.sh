#!/usr/bin/env bash
# build-guest.sh builds the media example's edge ABI module (Go,
# GOOS=wasip1, a reactor the node pre-initialises) into site/media.wasm,
# which is committed. Needs only Go.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/guest"
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -buildvcs=false -ldflags='-s -w' -o ../site/media.wasm .
echo "built $(cd .. && pwd)/site/media.wasm"
