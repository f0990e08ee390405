package sendense_test

import (
	"errors"
	"testing"

	"libsendense/bindings/go/sendense"
)

// The integrity report: OK on a sound store, with its schema version and the storage
// consistency check; a storage problem makes it not OK while SQLite's own checks find
// nothing.
func TestIntegrityCheck(t *testing.T) {
	s, _ := openTemp(t)
	r := must(s.IntegrityCheck()).get(t)
	if !r.OK || r.SchemaVersion != must(s.SchemaVersion()).get(t) || len(r.IntegrityErrors) != 0 ||
		len(r.ForeignKeyViolations) != 0 || r.Storage == nil || !r.Storage.OK {
		t.Fatalf("a new store: %+v", r)
	}
	d := newDeviceSetup(t, s, "web-01")
	d.attach(t, s, 0, "/dev/vdb", 10809)
	consistent(t, s, "attached")

	// An oma mapping without its export.
	ok(t, s.RemoveNBDExport(exportName(d.volumes[0])))
	r = must(s.IntegrityCheck()).get(t)
	if r.OK || len(r.IntegrityErrors) != 0 || len(r.ForeignKeyViolations) != 0 || r.Storage == nil || r.Storage.OK ||
		!contains(r.Storage.OMAMappingsWithoutExport, d.volumes[0]) {
		t.Fatalf("with an oma mapping without export: %+v (storage %+v)", r, r.Storage)
	}

	ok(t, s.Close())
	if _, err := s.IntegrityCheck(); !errors.Is(err, sendense.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
