//go:build !sendense_ldflags_from_env

package sendense

// The default link line: the static library that `cargo build --lib` writes to
// target/debug in the crate root. To link another build (for example a release build), build
// with the tag sendense_ldflags_from_env and give the whole link line in CGO_LDFLAGS:
//
//	cargo build --release --lib
//	CGO_LDFLAGS="/path/to/libsendense/target/release/libsendense.a -lm -ldl -lpthread -lrt -lutil -lgcc_s" \
//	    go build -tags sendense_ldflags_from_env ./...

// #cgo LDFLAGS: ${SRCDIR}/../../../target/debug/libsendense.a -lm -ldl -lpthread -lrt -lutil -lgcc_s
import "C"
