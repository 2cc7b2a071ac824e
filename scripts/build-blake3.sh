#!/usr/bin/env bash
# Builds libstrata_blake3.so (the official BLAKE3 C implementation) into the directory given
# as $1. Sources come from Debian's librust-blake3-dev (/usr/share/cargo/registry/blake3-*/c).
# Never fails the build: when gcc or the sources are missing and cannot be installed, it warns
# and exits 0; dev.strata.core.hash.Blake3 then falls back to pure Java (identical output).
set -u

out=${1:?usage: build-blake3.sh OUTPUT_DIR}
warn() { echo "[WARNING] build-blake3: $*; Blake3 will use the pure-Java fallback" >&2; exit 0; }

find_src() {
  local d
  for d in ${BLAKE3_C_DIR:-} /usr/share/cargo/registry/blake3-*/c; do
    [ -f "$d/blake3.c" ] && [ -f "$d/blake3.h" ] && { echo "$d"; return 0; }
  done
  return 1
}

src=$(find_src)
if [ -z "$src" ] || ! command -v gcc >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "build-blake3: installing gcc librust-blake3-dev (apt-get)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc librust-blake3-dev; } >&2 \
      || warn "apt-get install librust-blake3-dev failed"
    src=$(find_src)
  fi
  [ -n "$src" ] || warn "BLAKE3 C sources not found (apt-get install librust-blake3-dev)"
  command -v gcc >/dev/null || warn "gcc not found"
fi

mkdir -p "$out" || warn "cannot create $out"
lib="$out/libstrata_blake3.so"
if [ -f "$lib" ]; then
  # Up to date unless a source or this script is newer.
  stale=$(find "$src" "${BASH_SOURCE[0]}" -newer "$lib" \( -name '*.c' -o -name '*.h' -o -name '*.S' -o -name '*.sh' \) | head -1)
  [ -z "$stale" ] && exit 0
fi

case "$(uname -m)" in
  x86_64|amd64)
    files=("$src/blake3.c" "$src/blake3_dispatch.c" "$src/blake3_portable.c"
           "$src/blake3_sse2_x86-64_unix.S" "$src/blake3_sse41_x86-64_unix.S"
           "$src/blake3_avx2_x86-64_unix.S" "$src/blake3_avx512_x86-64_unix.S")
    defs=() ;;
  *)
    files=("$src/blake3.c" "$src/blake3_dispatch.c" "$src/blake3_portable.c")
    defs=(-DBLAKE3_NO_SSE2 -DBLAKE3_NO_SSE41 -DBLAKE3_NO_AVX2 -DBLAKE3_NO_AVX512) ;;
esac

tmp="$lib.tmp.$$"
if gcc -O3 -shared -fPIC -fvisibility=default "${defs[@]}" -I"$src" -o "$tmp" "${files[@]}"; then
  mv -f "$tmp" "$lib"
  echo "build-blake3: built $lib from $src" >&2
else
  rm -f "$tmp"
  warn "gcc failed"
fi
