#!/usr/bin/env bash
# Installs libsendense for C programs under PREFIX:
#   PREFIX/include/sendense.h
#   PREFIX/lib/libsendense.a
#   PREFIX/lib/libsendense.so.<ABI version>   (the file the soname names)
#   PREFIX/lib/libsendense.so -> libsendense.so.<ABI version>   (for -lsendense at link time)
#   PREFIX/lib/pkgconfig/sendense.pc
#
# Usage: scripts/install.sh PREFIX [LIBDIR]
#   Without LIBDIR it runs `cargo build --release --lib` and installs target/release; with
#   LIBDIR (a directory holding libsendense.a and libsendense.so, e.g. target/debug) it installs
#   those as they are, without building.
#
# Then: cc app.c $(PKG_CONFIG_PATH=PREFIX/lib/pkgconfig pkg-config --cflags --libs sendense)
# links the shared library; a static link takes PREFIX/lib/libsendense.a and
# `pkg-config --static --libs-only-l sendense` minus -lsendense.
set -euo pipefail

if (($# < 1 || $# > 2)); then
    echo "usage: $0 PREFIX [LIBDIR]" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
prefix=$(cd "$1" && pwd)
if (($# == 2)); then
    libdir_in=$(cd "$2" && pwd)
else
    cargo build --release --lib --manifest-path "$root/Cargo.toml"
    libdir_in=$root/target/release
fi

header=$root/include/sendense.h
define() { sed -n "s/^#define $1 \([0-9]*\)\$/\1/p" "$header"; }
abi=$(define SENDENSE_ABI_VERSION)
version="$(define SENDENSE_VERSION_MAJOR).$(define SENDENSE_VERSION_MINOR).$(define SENDENSE_VERSION_PATCH)"
if [ -z "$abi" ] || [ "$version" = ".." ]; then
    echo "cannot read the versions from $header" >&2
    exit 1
fi

# What Rust's standard library needs from the system when a program links libsendense.a
# (`cargo rustc --lib --crate-type staticlib -- --print native-static-libs` on Linux); the
# shared library records its own dependencies.
native_static_libs="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

install -d "$prefix/include" "$prefix/lib/pkgconfig"
install -m 0644 "$header" "$prefix/include/sendense.h"
install -m 0644 "$libdir_in/libsendense.a" "$prefix/lib/libsendense.a"
install -m 0755 "$libdir_in/libsendense.so" "$prefix/lib/libsendense.so.$abi"
ln -sfn "libsendense.so.$abi" "$prefix/lib/libsendense.so"

cat >"$prefix/lib/pkgconfig/sendense.pc" <<EOF
prefix=$prefix
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: sendense
Description: Embedded state engine for VM replication, migration and backup appliances (C ABI $abi)
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lsendense
Libs.private: $native_static_libs
EOF
echo "installed libsendense $version (ABI $abi) under $prefix"
