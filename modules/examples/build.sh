#!/usr/bin/env bash
# build.sh rebuilds the example guests (three WAGI, two edge ABI) into demo/,
# where they are committed and embedded by embed.go. Called by `make examples`; safe to run
# from any directory and to re-run.
#
# The C and WAT toolchains come from Debian 12 packages and are installed on
# demand, so a fresh build box needs nothing but Go and apt:
#   clang lld                - compiler and wasm-ld
#   wasi-libc                - the wasm32-wasi sysroot under /usr
#   libclang-rt-dev-wasm32   - libclang_rt.builtins-wasm32.a, which clang
#                              always links for wasm32-wasi
#   wabt                     - wat2wasm and wasm-strip
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
out=demo

builtins_present() {
  compgen -G '/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a' >/dev/null
}

# Install the toolchain only when something is missing; retry after
# refreshing the package lists, which are often absent in fresh containers.
if ! command -v clang >/dev/null || ! command -v wasm-ld >/dev/null ||
   ! command -v wat2wasm >/dev/null || ! command -v wasm-strip >/dev/null ||
   [[ ! -f /usr/lib/wasm32-wasi/libc.a ]] || ! builtins_present; then
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  pkgs=(clang lld wasi-libc libclang-rt-dev-wasm32 wabt)
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${pkgs[@]}"; then
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y --no-install-recommends "${pkgs[@]}"
  fi
fi

echo "building $out/hello.wasm (C)"
clang --target=wasm32-wasi --sysroot=/usr -O2 -o "$out/hello.wasm" hello-c/hello.c
wasm-strip "$out/hello.wasm"

echo "building $out/hello-go.wasm (Go)"
(cd hello-go && GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -ldflags='-s -w' -o "../$out/hello-go.wasm" .)

echo "building $out/hello-edge.wasm (C, edge ABI)"
clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -I../sdk/c \
  -Wl,--export=edge_handle -o "$out/hello-edge.wasm" hello-edge-c/hello.c
wasm-strip "$out/hello-edge.wasm"

echo "building $out/hello-edge-go.wasm (Go, edge ABI)"
(cd hello-edge-go && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -buildvcs=false -ldflags='-s -w' -o "../$out/hello-edge-go.wasm" .)

echo "building fetch/fetch.wasm (Go, edge ABI, outbound fetch)"
(cd fetch && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -buildvcs=false -ldflags='-s -w' -o fetch.wasm .)
echo "building fetch-c/fetch.wasm (C, edge ABI, outbound fetch)"
clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -I../sdk/c \
  -o fetch-c/fetch.wasm fetch-c/fetch.c
wasm-strip fetch-c/fetch.wasm
echo "building ../js/engine.wasm.gz (the JavaScript engine, goja; docs/js.md)"
(cd ../js && go generate .)

echo "building $out/hello-wat.wasm (WAT)"
wat2wasm hello-wat/hello.wat -o "$out/hello-wat.wasm"

ls -l "$out"/*.wasm
