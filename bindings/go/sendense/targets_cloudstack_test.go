package sendense_test

import (
	"strings"
	"sync"
	"testing"

	"libsendense/bindings/go/sendense"
)

// One configuration is active at a time; names are unique; updates set and clear columns.
func TestCloudStackConfigs(t *testing.T) {
	s, _ := openKeyed(t, testKey(t))
	a := must(s.CreateCloudStackConfig(cloudStack("cloud-a", true))).get(t)
	b := must(s.CreateCloudStackConfig(cloudStack("cloud-b", true))).get(t)
	c := must(s.CreateCloudStackConfig(cloudStack("cloud-c", false))).get(t)
	active := func() int64 {
		t.Helper()
		var ids []int64
		for _, cfg := range must(s.ListCloudStackConfigs()).get(t) {
			if cfg.IsActive {
				ids = append(ids, cfg.ID)
			}
		}
		if len(ids) != 1 {
			t.Fatalf("active configurations: %v, want exactly one", ids)
		}
		if got := must(s.ActiveCloudStackConfig()).get(t); got == nil || got.ID != ids[0] {
			t.Fatalf("ActiveCloudStackConfig: %+v, want %d", got, ids[0])
		}
		return ids[0]
	}
	if got := active(); got != b {
		t.Fatalf("active %d after creating b active, want %d", got, b)
	}
	ok(t, s.ActivateCloudStackConfig(a))
	if got := active(); got != a {
		t.Fatalf("active %d, want %d", got, a)
	}
	ok(t, s.ActivateCloudStackConfig(a)) // already active: stays the one
	ok(t, s.ActivateCloudStackConfig(c))
	if got := active(); got != c {
		t.Fatalf("active %d, want %d", got, c)
	}
	wantErr(t, "activate an unknown configuration", s.ActivateCloudStackConfig(9999), sendense.ErrNotFound)
	if got := active(); got != c {
		t.Fatalf("a refused activation moved the active configuration to %d", got)
	}

	// Goroutines activating configurations at once leave exactly one active.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				if err := s.ActivateCloudStackConfig([]int64{a, b, c}[(g+i)%3]); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	active()
	ok(t, s.ActivateCloudStackConfig(c))

	list := must(s.ListCloudStackConfigs()).get(t)
	if len(list) != 3 || list[0].Name != "cloud-a" || list[2].Name != "cloud-c" {
		t.Fatalf("list by name: %+v", list)
	}
	_, err := s.CreateCloudStackConfig(cloudStack("cloud-a", false))
	wantErr(t, "a taken name", err, sendense.ErrAlreadyExists)
	bad := cloudStack("cloud-d", false)
	bad.APIURL = "ftp://cloud.example.test"
	_, err = s.CreateCloudStackConfig(bad)
	wantErr(t, "an ftp URL", err, sendense.ErrInvalidArgument)
	bad = cloudStack("cloud-d", false)
	bad.SecretKey = ""
	_, err = s.CreateCloudStackConfig(bad)
	wantErr(t, "an empty secret", err, sendense.ErrInvalidArgument)
	_, err = s.CloudStackConfig(9999)
	wantErr(t, "an unknown configuration", err, sendense.ErrNotFound)
	_, err = s.CloudStackConfigSecrets(9999)
	wantErr(t, "the secrets of an unknown configuration", err, sendense.ErrNotFound)

	got := must(s.UpdateCloudStackConfig(b, sendense.CloudStackConfigUpdate{
		Name: sendense.String("cloud-b2"), NetworkID: sendense.String("net-2"), Clear: []string{"domain", "oma_vm_id"},
	})).get(t)
	if got.Name != "cloud-b2" || str(got.NetworkID) != "net-2" || got.Domain != nil || got.OMAVMID != nil || str(got.TemplateID) != "tmpl-1" {
		t.Fatalf("updated: %+v", got)
	}
	_, err = s.UpdateCloudStackConfig(b, sendense.CloudStackConfigUpdate{Name: sendense.String("cloud-a")})
	wantErr(t, "rename onto a taken name", err, sendense.ErrAlreadyExists)
	_, err = s.UpdateCloudStackConfig(b, sendense.CloudStackConfigUpdate{Clear: []string{"zone"}})
	wantErr(t, "clear a required column", err, sendense.ErrInvalidArgument)
	_, err = s.UpdateCloudStackConfig(b, sendense.CloudStackConfigUpdate{Domain: sendense.String("x"), Clear: []string{"domain"}})
	wantErr(t, "set and clear", err, sendense.ErrInvalidArgument)
	_, err = s.UpdateCloudStackConfig(9999, sendense.CloudStackConfigUpdate{Zone: sendense.String("z")})
	wantErr(t, "update an unknown configuration", err, sendense.ErrNotFound)
	if again := must(s.CloudStackConfig(b)).get(t); again.Name != "cloud-b2" || !again.UpdatedAt.Equal(got.UpdatedAt) {
		t.Fatalf("a refused update changed the configuration: %+v", again)
	}
	ok(t, s.DeleteCloudStackConfig(a))
	wantErr(t, "delete it again", s.DeleteCloudStackConfig(a), sendense.ErrNotFound)
}

// A configuration is not deletable while a volume or a replication job uses it.
func TestCloudStackConfigDeleteRefusedWhileUsed(t *testing.T) {
	s, _ := openKeyed(t, testKey(t))
	cfg := must(s.CreateCloudStackConfig(cloudStack("cloud-main", true))).get(t)
	vol := must(s.CreateVolume(sendense.NewVolume{VolumeID: "vol-0001", VolumeName: "web-01-disk-0", SizeGB: 40,
		OSSEAConfigID: sendense.Int64(cfg)})).get(t)
	e := wantErr(t, "delete a configuration a volume uses", s.DeleteCloudStackConfig(cfg), sendense.ErrConflict)
	if !strings.Contains(e.Message, "1 volume") {
		t.Fatalf("the refusal does not say how many volumes: %q", e.Message)
	}
	must(s.CloudStackConfig(cfg)).get(t)
	ok(t, s.DeleteVolume(vol))

	ctx := must(s.CreateContext(newVM("web-01", "vm-101"))).get(t)
	job := must(s.StartReplication(sendense.ReplicationStart{ContextID: ctx, Disks: twoDisks("web-01"), OSSEAConfigID: sendense.Int64(cfg)})).get(t)
	e = wantErr(t, "delete a configuration a job uses", s.DeleteCloudStackConfig(cfg), sendense.ErrConflict)
	if !strings.Contains(e.Message, "1 replication job") {
		t.Fatalf("the refusal does not say how many jobs: %q", e.Message)
	}
	ok(t, s.SetReplicationJobStatus(job, sendense.ReplicationJobFailed, "test"))
	ok(t, s.DeleteReplicationJob(job))
	ok(t, s.DeleteCloudStackConfig(cfg))
	_, err := s.CloudStackConfig(cfg)
	wantErr(t, "the deleted configuration", err, sendense.ErrNotFound)
}
