#!/usr/bin/env bash
# Runs every test suite of libsendense on a fresh machine: Rust unit and integration tests
# (schema, store, migrations and fixtures, header), the C ABI programs (plain, under
# AddressSanitizer + UndefinedBehaviorSanitizer, under valgrind), several processes on one
# file, and the SIGKILL crash test. Installs the system tools it needs when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v cc >/dev/null || missing+=(gcc)
command -v c++ >/dev/null || missing+=(g++)
command -v valgrind >/dev/null || missing+=(valgrind)
command -v nm >/dev/null || missing+=(binutils)
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

# All unit, integration, C ABI, multi-process, crash and doc tests.
cargo test --locked
# The examples run, and the benchmarks still build (they are run with `cargo bench`).
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cargo run --locked --quiet --example quickstart -- "$scratch/quickstart.db"
cargo build --locked --quiet --benches
