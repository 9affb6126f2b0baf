#!/usr/bin/env bash
# Installs the project's UDT library where a UDT4 program looks for UDT4's:
#
#   bash udt-capi/install.sh PREFIX        # e.g. /usr/local or $HOME/.local
#
# builds udt-capi in release mode and writes
#   PREFIX/lib/libudt.so, PREFIX/lib/libudt.a       (cargo names them libudtrs.*)
#   PREFIX/include/udt/udt.h, PREFIX/include/udt/udt_c.h
#   PREFIX/lib/pkgconfig/udt.pc
# so that `g++ prog.cpp $(pkg-config --cflags --libs udt)` or
# `g++ -IPREFIX/include prog.cpp -LPREFIX/lib -ludt -lpthread` builds a UDT4 program.
set -euo pipefail
prefix=${1:?usage: install.sh PREFIX}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/.."
cargo build --release -p udt-capi
target=${CARGO_TARGET_DIR:-target}/release
install -d "$prefix/lib/pkgconfig" "$prefix/include/udt"
install -m 755 "$target/libudtrs.so" "$prefix/lib/libudt.so"
install -m 644 "$target/libudtrs.a" "$prefix/lib/libudt.a"
install -m 644 "$here/include/udt/udt.h" "$here/include/udt/udt_c.h" "$prefix/include/udt/"
sed "s|@PREFIX@|$prefix|" "$here/udt.pc.in" > "$prefix/lib/pkgconfig/udt.pc"
echo "installed into $prefix (pkg-config: PKG_CONFIG_PATH=$prefix/lib/pkgconfig)"
