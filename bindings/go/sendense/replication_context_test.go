package sendense_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"libsendense/bindings/go/sendense"
)

// Contexts: created with their defaults or given values, read by id and by VMware identity,
// listed by filter in name order, updated (set, clear and leave alone), moved along the edges
// jobs do not drive, deleted with what they own.
func TestContexts(t *testing.T) {
	s, _ := openTemp(t)
	web := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	vm := newVM("app-01", "vm-101") // the same VMware id in another vCenter
	vm.VCenterHost = "vcenter-2.example.test"
	vm.SchedulerEnabled = sendense.Bool(false)
	vm.LastOperationSummary = json.RawMessage(`{"op":"discover"}`)
	app := must(s.CreateContext(vm)).get(t)

	c := must(s.Context(app)).get(t)
	if c.ContextID != app || c.VMName != "app-01" || c.VCenterHost != "vcenter-2.example.test" || c.SchedulerEnabled ||
		string(c.LastOperationSummary) != `{"op":"discover"}` || c.CurrentStatus != sendense.ContextDiscovered ||
		*c.MemoryMB != 8192 || str(c.OSType) != "ubuntu64Guest" || c.TotalJobsRun != 0 || c.LastStatusChange == nil {
		t.Fatalf("created context: %+v", c)
	}
	if got := must(s.FindContext("vm-101", "vcenter-2.example.test")).get(t); got.ContextID != app {
		t.Fatalf("find in the second vCenter: %+v", got)
	}
	if got := must(s.FindContext("vm-101", "vcenter.example.test")).get(t); got.ContextID != web || got.LastOperationSummary != nil {
		t.Fatalf("find in the first vCenter: %+v", got)
	}

	names := func(list []sendense.Context) (out []string) {
		for _, c := range list {
			out = append(out, c.VMName)
		}
		return out
	}
	for _, c := range []struct {
		filter sendense.ContextFilter
		want   string
	}{
		{sendense.ContextFilter{}, "[app-01 web-01]"},
		{sendense.ContextFilter{VCenterHost: "vcenter-2.example.test"}, "[app-01]"},
		{sendense.ContextFilter{SchedulerEnabled: sendense.Bool(true)}, "[web-01]"},
		{sendense.ContextFilter{NamePrefix: "app"}, "[app-01]"},
		{sendense.ContextFilter{Limit: 1, Offset: 1}, "[web-01]"},
		{sendense.ContextFilter{Status: sendense.ContextReplicating}, "[]"},
	} {
		if got := must(s.ListContexts(c.filter)).get(t); fmt.Sprint(names(got)) != c.want {
			t.Fatalf("contexts of %+v: %v, want %s", c.filter, names(got), c.want)
		}
	}

	// Update: set, clear and leave alone.
	u := must(s.UpdateContext(app, sendense.ContextUpdate{PowerState: sendense.String("poweredOff"),
		Clear: []string{"last_operation_summary", "memory_mb"}})).get(t)
	if str(u.PowerState) != "poweredOff" || u.LastOperationSummary != nil || u.MemoryMB != nil || *u.CPUCount != 4 ||
		u.VMName != "app-01" || u.SchedulerEnabled {
		t.Fatalf("updated context: %+v", u)
	}
	if got := must(s.Context(app)).get(t); str(got.PowerState) != "poweredOff" || got.MemoryMB != nil {
		t.Fatalf("the update did not stay: %+v", got)
	}

	// The edges into and out of failed_over_* belong to failovers: a live failover and its
	// commit after a completed job.
	job := must(s.StartReplication(sendense.ReplicationStart{ContextID: web, Disks: twoDisks("web-01")})).get(t)
	runReplicationJob(t, s, job, map[string]string{"disk-2000": changeID(epochA, 1), "disk-2001": changeID(epochB, 1)})
	wantErr(t, "failed_over_live without a failover", s.SetContextStatus(web, sendense.ContextFailedOverLive), sendense.ErrInvalidState)
	fo := must(s.StartFailover(sendense.FailoverStart{ContextID: web, JobType: sendense.FailoverLive})).get(t)
	walkFailover(t, s, fo)
	ok(t, s.CommitFailover(fo))
	if c := must(s.Context(web)).get(t); c.CurrentStatus != sendense.ContextCompleted || c.LastStatusChange.Before(c.CreatedAt) {
		t.Fatalf("after the commit: %+v", c)
	}
	wantErr(t, "completed is final", s.SetContextStatus(web, sendense.ContextReadyForFailover), sendense.ErrInvalidState)

	// Deleting a context deletes what it owns.
	ok(t, s.DeleteContext(web))
	_, err := s.ReplicationJob(job)
	wantErr(t, "the job of a deleted context", err, sendense.ErrNotFound)
	_, err = s.Disks(web)
	wantErr(t, "the disks of a deleted context", err, sendense.ErrNotFound)
	wantErr(t, "delete it again", s.DeleteContext(web), sendense.ErrNotFound)
	if got := must(s.ListContexts(sendense.ContextFilter{})).get(t); len(got) != 1 || got[0].ContextID != app {
		t.Fatalf("contexts after the delete: %v", names(got))
	}
}
