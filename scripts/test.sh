#!/usr/bin/env bash
# Runs every test suite of libsendense on a fresh machine: Rust unit and integration tests
# (schema, store, migrations and fixtures, header, layering), the C ABI programs (plain, under
# AddressSanitizer + UndefinedBehaviorSanitizer, under valgrind), several processes on one
# file, the SIGKILL crash test, and the Go package (bindings/go: go vet, go test, the demo),
# after the lint steps (cargo fmt --check, cargo clippy -D warnings, gofmt -l).
# Installs the system tools it needs when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v cc >/dev/null || missing+=(gcc)
command -v c++ >/dev/null || missing+=(g++)
command -v valgrind >/dev/null || missing+=(valgrind)
command -v nm >/dev/null || missing+=(binutils)
command -v pkg-config >/dev/null || missing+=(pkgconf)
command -v go >/dev/null || missing+=(golang-go)
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

# Lint first: formatting and clippy for Rust (warnings are errors), gofmt for Go (go vet runs
# with the Go tests below).
cargo fmt --check
cargo clippy --locked --all-targets --quiet -- -D warnings
unformatted=$(gofmt -l bindings/go)
if [ -n "$unformatted" ]; then
    echo "gofmt would reformat: $unformatted" >&2
    exit 1
fi

# All unit, integration, C ABI, multi-process, crash and doc tests.
cargo test --locked
# The examples run, and the benchmarks still build (they are run with `cargo bench`).
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cargo run --locked --quiet --example quickstart -- "$scratch/quickstart.db"
cargo build --locked --quiet --benches

# The Go package links the debug static library (target/debug/libsendense.a).
cargo build --locked --quiet --lib
if [ -z "${HOME:-}" ]; then
    # Go keeps its build cache and module cache under $HOME; give it a scratch place.
    export GOCACHE="$scratch/go-cache" GOPATH="$scratch/go-path"
fi
go_race=()
case "$(go env GOARCH)" in amd64 | arm64) go_race=(-race) ;; esac
go_started=$SECONDS
(
    cd bindings/go
    go vet ./...
    # -count=1: never reuse a cached result (the cache does not see a rebuilt libsendense.a).
    go test -count=1 ./...
    if ((${#go_race[@]})); then
        go test -count=1 -short "${go_race[@]}" ./...
    fi
    go run ./cmd/sendense-demo "$scratch/demo.db"
)
echo "Go package: $((SECONDS - go_started)) s"
