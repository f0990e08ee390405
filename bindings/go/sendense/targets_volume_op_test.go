package sendense_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"libsendense/bindings/go/sendense"
)

// A volume operation moves along its machine; every change appends one history row.
func TestVolumeOperations(t *testing.T) {
	s, _ := openTemp(t)
	req := map[string]any{"volume_id": "vol-1", "vm_id": "hub-vm"}
	id := must(s.CreateVolumeOperation(sendense.NewVolumeOperation{Type: sendense.VolumeOpAttach, VolumeID: "vol-1", VMID: "hub-vm", Request: req})).get(t)
	op := must(s.VolumeOperation(id)).get(t)
	var got map[string]any
	ok(t, json.Unmarshal(op.Request, &got))
	if op.Status != sendense.VolumeOpPending || op.Type != sendense.VolumeOpAttach || got["vm_id"] != "hub-vm" || op.Response != nil && string(op.Response) != "null" {
		t.Fatalf("new operation %+v", op)
	}
	wantErr(t, "pending -> completed", s.SetVolumeOperationStatus(id, sendense.VolumeOpCompleted, nil, ""), sendense.ErrInvalidState)
	ok(t, s.SetVolumeOperationStatus(id, sendense.VolumeOpExecuting, nil, ""))
	wantErr(t, "failed without a reason", s.SetVolumeOperationStatus(id, sendense.VolumeOpFailed, nil, ""), sendense.ErrInvalidArgument)
	wantErr(t, "completed with an error", s.SetVolumeOperationStatus(id, sendense.VolumeOpCompleted, nil, "boom"), sendense.ErrInvalidArgument)
	wantErr(t, "a status not in the set", s.SetVolumeOperationStatus(id, "done", nil, ""), sendense.ErrInvalidArgument)
	ok(t, s.SetVolumeOperationStatus(id, sendense.VolumeOpCompleted, map[string]any{"device_path": "/dev/vdb"}, ""))
	op = must(s.VolumeOperation(id)).get(t)
	if op.Status != sendense.VolumeOpCompleted || op.CompletedAt == nil || string(op.Response) != `{"device_path":"/dev/vdb"}` {
		t.Fatalf("completed operation %+v (response %s)", op, op.Response)
	}
	e := wantErr(t, "completed -> executing", s.SetVolumeOperationStatus(id, sendense.VolumeOpExecuting, nil, ""), sendense.ErrInvalidState)
	if e.Message == "" {
		t.Fatal("no message")
	}
	history := must(s.VolumeOperationHistory(id)).get(t)
	if len(history) != 3 || history[0].PreviousStatus != nil || history[0].NewStatus != sendense.VolumeOpPending ||
		*history[1].PreviousStatus != sendense.VolumeOpPending || history[2].NewStatus != sendense.VolumeOpCompleted {
		t.Fatalf("history %+v", history)
	}
	_, err := s.VolumeOperation("no-such-operation")
	wantErr(t, "an unknown operation", err, sendense.ErrNotFound)
	_, err = s.CreateVolumeOperation(sendense.NewVolumeOperation{ID: id, Type: sendense.VolumeOpDetach, VolumeID: "vol-1", Request: req})
	wantErr(t, "a taken id", err, sendense.ErrAlreadyExists)
	_, err = s.CreateVolumeOperation(sendense.NewVolumeOperation{Type: "resize", VolumeID: "vol-1", Request: req})
	wantErr(t, "a type not in the set", err, sendense.ErrInvalidArgument)

	// A failed one, a stuck one, the list filters and the metrics.
	failed := must(s.CreateVolumeOperation(sendense.NewVolumeOperation{Type: sendense.VolumeOpDetach, VolumeID: "vol-2", Request: req})).get(t)
	ok(t, s.SetVolumeOperationStatus(failed, sendense.VolumeOpFailed, nil, "CloudStack said no"))
	if op := must(s.VolumeOperation(failed)).get(t); str(op.Error) != "CloudStack said no" {
		t.Fatalf("failed operation %+v", op)
	}
	stuck := must(s.CreateVolumeOperation(sendense.NewVolumeOperation{Type: sendense.VolumeOpCreate, VolumeID: "vol-3", Request: req})).get(t)
	ok(t, s.SetVolumeOperationStatus(stuck, sendense.VolumeOpExecuting, nil, ""))
	time.Sleep(20 * time.Millisecond)
	if list := must(s.StuckVolumeOperations(10 * time.Millisecond)).get(t); len(list) != 1 || list[0].ID != stuck {
		t.Fatalf("stuck: %+v", list)
	}
	if list := must(s.StuckVolumeOperations(time.Hour)).get(t); len(list) != 0 {
		t.Fatalf("stuck for an hour: %+v", list)
	}
	if list := must(s.ListVolumeOperations(sendense.VolumeOpFilter{Status: sendense.VolumeOpFailed})).get(t); len(list) != 1 || list[0].ID != failed {
		t.Fatalf("failed operations: %+v", list)
	}
	if list := must(s.ListVolumeOperations(sendense.VolumeOpFilter{})).get(t); len(list) != 3 || list[0].ID != id {
		t.Fatalf("every operation: %+v", list)
	}
	if list := must(s.ListVolumeOperations(sendense.VolumeOpFilter{Type: sendense.VolumeOpCreate, Limit: 1})).get(t); len(list) != 1 || list[0].ID != stuck {
		t.Fatalf("create operations: %+v", list)
	}
	m := must(s.VolumeMetrics()).get(t)
	if m.TotalOperations != 3 || m.PendingOperations != 1 || m.OperationsByType["attach"] != 1 || m.OperationsByStatus["failed"] != 1 ||
		m.ErrorRatePercent != 50 || m.ID != nil {
		t.Fatalf("metrics %+v", m)
	}
	rec := must(s.RecordVolumeMetrics()).get(t)
	if rec.ID == nil || rec.TotalOperations != 3 {
		t.Fatalf("recorded sample %+v", rec)
	}
	second := must(s.RecordVolumeMetrics()).get(t)
	if samples := must(s.VolumeMetricsSamples(10)).get(t); len(samples) != 2 || *samples[0].ID != *second.ID ||
		*samples[1].ID != *rec.ID || samples[1].TotalOperations != 3 {
		t.Fatalf("samples %+v", samples)
	}
	if samples := must(s.VolumeMetricsSamples(1)).get(t); len(samples) != 1 || *samples[0].ID != *second.ID {
		t.Fatalf("the newest sample %+v", samples)
	}
}

// 8 goroutines drive their own operations at once: every history matches its changes.
func TestConcurrentVolumeOperations(t *testing.T) {
	s, _ := openTemp(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	ids := make([][]string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				id, err := s.CreateVolumeOperation(sendense.NewVolumeOperation{Type: sendense.VolumeOpAttach,
					VolumeID: fmt.Sprintf("vol-%d-%d", g, i), Request: map[string]int{"round": i}})
				if err == nil {
					err = s.SetVolumeOperationStatus(id, sendense.VolumeOpExecuting, nil, "")
				}
				if err == nil && i%3 == 0 {
					err = s.SetVolumeOperationStatus(id, sendense.VolumeOpFailed, nil, "injected")
				} else if err == nil {
					err = s.SetVolumeOperationStatus(id, sendense.VolumeOpCompleted, map[string]int{"round": i}, "")
				}
				if err != nil {
					errs <- err
					return
				}
				ids[g] = append(ids[g], id)
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for g := range ids {
		for _, id := range ids[g] {
			h := must(s.VolumeOperationHistory(id)).get(t)
			if len(h) != 3 || h[2].PreviousStatus == nil || *h[2].PreviousStatus != sendense.VolumeOpExecuting {
				t.Fatalf("history of %s: %+v", id, h)
			}
		}
	}
	m := must(s.VolumeMetrics()).get(t)
	if m.TotalOperations != 80 || m.OperationsByStatus["failed"] != 32 || m.OperationsByStatus["completed"] != 48 || m.PendingOperations != 0 {
		t.Fatalf("metrics %+v", m)
	}
}
