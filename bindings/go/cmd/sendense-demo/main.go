// Command sendense-demo walks the replication and backup lifecycles on a libsendense database
// file: two VMs with two disks each, an initial replication with progress updates, change ids
// recorded, the CBT decision and an incremental, the CBT lineage, a failed job, a deleted job,
// and the contexts with their counters; then two backup repositories, a policy with a copy
// rule, a full and three incrementals of each disk of web-01, the restore chain of the newest
// point, a refused delete with its reason, a new generation and a retention plan with its
// reasons (applied), and a copy claimed, verified and completed. Then the targets of web-01:
// the store is opened with a secret key kept in a key file next to the database (<path>.key,
// created on the first run), a CloudStack configuration whose API key and secret are stored
// sealed (its read-out names the sealing key and carries no secret), a CloudStack volume per
// disk linked to the disk row, the delete of the configuration refused while the volumes use
// it, a backup NBD port leased, the volumes attached (a device mapping with its NBD export
// each, recorded as volume operations with their history), snapshotted for a test failover
// and rolled back, the VM's mappings switched to failover and back, detached, the port
// released, the storage consistency check and the volume daemon's metrics. Before the detach,
// web-01 fails over as a test: its two networks mapped for both kinds and validated, every
// step walked (the devices switch to failover mode at switching_volume) and rolled back (the
// devices back at their hub paths). Then a new VM (app-NN, one per run) fails over live:
// refused first while one of its networks has no mapping (the message names it), then walked
// and committed. The contexts' statuses and last operation summaries are printed after each.
//
//	go run ./cmd/sendense-demo [path]    (default ./sendense-demo.db; an existing file is reused)
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"libsendense/bindings/go/sendense"
)

func main() {
	path := "sendense-demo.db"
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	if err := run(path, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sendense-demo:", err)
		os.Exit(1)
	}
}

type vm struct {
	name, vmwareID string
	id             string
}

// ensureKeyFile has the library write a new random secret key to path (durably, readable by
// the owner only) unless the file exists.
func ensureKeyFile(path string, w io.Writer) error {
	if _, err := sendense.CreateKeyFile(path); err != nil {
		if errors.Is(err, sendense.ErrAlreadyExists) {
			return nil
		}
		return err
	}
	fmt.Fprintf(w, "created the key file %s\n", path)
	return nil
}

func run(path string, w io.Writer) error {
	// The secret key of the secret columns lives in a file of its own, never in the database.
	keyPath := path + ".key"
	if err := ensureKeyFile(keyPath, w); err != nil {
		return err
	}
	store, err := sendense.OpenWithKeyFile(path, nil, keyPath)
	if err != nil {
		return err
	}
	defer store.Close()
	version, err := store.SchemaVersion()
	if err != nil {
		return err
	}
	keyID, err := store.SecretKeyID()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "libsendense %s, database %s, schema version %d, secret key %s\n", sendense.Version(), path, version, keyID)

	const vcenter = "vcenter.demo.local"
	vms := []*vm{{name: "web-01", vmwareID: "vm-1001"}, {name: "db-01", vmwareID: "vm-1002"}}
	for _, v := range vms {
		v.id, err = store.CreateContext(sendense.NewContext{
			VMName: v.name, VMwareVMID: v.vmwareID, VMPath: "/DC1/vm/" + v.name, VCenterHost: vcenter,
			Datacenter: "DC1", CPUCount: sendense.Int64(4), MemoryMB: sendense.Int64(8192),
		})
		if errors.Is(err, sendense.ErrAlreadyExists) {
			// Run again on the same file: reuse the context, start a new round of jobs.
			var c *sendense.Context
			if c, err = store.FindContext(v.vmwareID, vcenter); err != nil {
				return err
			}
			v.id = c.ContextID
			if c.CurrentStatus != sendense.ContextReadyForFailover && c.CurrentStatus != sendense.ContextDiscovered &&
				c.CurrentStatus != sendense.ContextFailed {
				return fmt.Errorf("context %s is %s; run the demo on a new file", v.name, c.CurrentStatus)
			}
		} else if err != nil {
			return err
		}
		fmt.Fprintf(w, "context %s: %s\n", v.name, v.id)
	}
	// The VMware networks of a VM (its disks' network_config): what a failover maps.
	disks := func(name string) []sendense.DiskSpec {
		networks := json.RawMessage(`["VM Network","backend"]`)
		if strings.HasPrefix(name, "app-") {
			networks = json.RawMessage(`["VM Network","dmz"]`)
		}
		return []sendense.DiskSpec{
			{DiskID: "disk-2000", VMDKPath: "[ds1] " + name + "/" + name + ".vmdk", SizeGB: 40, NetworkConfig: networks},
			{DiskID: "disk-2001", VMDKPath: "[ds1] " + name + "/" + name + "_1.vmdk", SizeGB: 100, NetworkConfig: networks},
		}
	}
	epoch := map[string]string{
		"disk-2000": "52 3c 1a 9e 6f 0b 4d 2a-8f 11 22 33 44 55 66 77",
		"disk-2001": "52 aa bb cc dd ee ff 00-11 22 33 44 55 66 77 88",
	}
	seq := 100

	// One replication: start, progress, per-disk CBT decision and change id, completion.
	replicate := func(v *vm) (string, error) {
		jobID, err := store.StartReplication(sendense.ReplicationStart{ContextID: v.id, Disks: disks(v.name)})
		if err != nil {
			return "", err
		}
		job, err := store.ReplicationJob(jobID)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(w, "%s: started %s job %s\n", v.name, job.ReplicationType, jobID)
		seq += 50
		for _, d := range disks(v.name) {
			snapshot := fmt.Sprintf("%s/%d", epoch[d.DiskID], seq)
			decision, err := store.DecideCBT(v.id, d.DiskID, snapshot, false)
			if err != nil {
				return "", err
			}
			base := "none"
			if decision.BaseChangeID != nil {
				base = *decision.BaseChangeID
			}
			fmt.Fprintf(w, "  %s: %s copy (reason %s, base %s)\n", d.DiskID, decision.Mode, decision.Reason, base)
		}
		if err := store.SetReplicationJobStatus(jobID, sendense.ReplicationJobReplicating, ""); err != nil {
			return "", err
		}
		const total = 140 << 30
		fmt.Fprint(w, "  progress")
		for pct := 0; pct <= 100; pct += 25 {
			err := store.ReplicationProgress(jobID, sendense.ReplicationProgress{Percent: float64(pct), BytesTransferred: total / 100 * int64(pct),
				TotalBytes: total, SpeedBps: 400 << 20, CurrentOperation: "transferring"})
			if err != nil {
				return "", err
			}
			fmt.Fprintf(w, " %d%%", pct)
		}
		fmt.Fprintln(w)
		for _, d := range disks(v.name) {
			change := fmt.Sprintf("%s/%d", epoch[d.DiskID], seq)
			if err := store.RecordCBT(jobID, d.DiskID, change, d.SizeGB<<30); err != nil {
				return "", err
			}
			fmt.Fprintf(w, "  %s: recorded change id %s\n", d.DiskID, change)
		}
		return jobID, store.SetReplicationJobStatus(jobID, sendense.ReplicationJobCompleted, "")
	}

	web, db := vms[0], vms[1]
	if _, err := replicate(web); err != nil { // initial (or incremental when the file is reused)
		return err
	}
	if _, err := replicate(db); err != nil {
		return err
	}
	if _, err := replicate(web); err != nil { // incremental from the recorded bases
		return err
	}

	history, err := store.CBTHistory(web.id, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "CBT lineage of %s:\n", web.name)
	for _, e := range history {
		prev := "-"
		if e.PreviousChangeID != nil {
			prev = *e.PreviousChangeID
		}
		fmt.Fprintf(w, "  %s %-11s %s <- %s\n", e.DiskID, e.SyncType, e.ChangeID, prev)
	}
	report, err := store.VerifyLineage(web.id)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "lineage ok: %v (%d disks, %d entries, %d breaks)\n", report.OK, report.DisksChecked, report.EntriesChecked, len(report.Breaks))

	// A job that fails, and is then deleted.
	failed, err := store.StartReplication(sendense.ReplicationStart{ContextID: db.id, Disks: disks(db.name)})
	if err != nil {
		return err
	}
	if err := store.ReplicationProgress(failed, sendense.ReplicationProgress{Percent: 12, BytesTransferred: 1 << 30, TotalBytes: 8 << 30}); err != nil {
		return err
	}
	if err := store.SetReplicationJobStatus(failed, sendense.ReplicationJobFailed, "VMA unreachable"); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: job %s failed\n", db.name, failed)
	if err := printContexts(store, w); err != nil {
		return err
	}
	if err := store.DeleteReplicationJob(failed); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: deleted job %s\n", db.name, failed)
	if err := printContexts(store, w); err != nil {
		return err
	}

	if err := backups(store, w, web); err != nil {
		return err
	}
	if err := targets(store, w, web); err != nil {
		return err
	}

	// A new VM (one per run: a committed migration is final) fails over live.
	contexts, err := store.ListContexts(sendense.ContextFilter{})
	if err != nil {
		return err
	}
	apps := 0
	for _, c := range contexts {
		if strings.HasPrefix(c.VMName, "app-") {
			apps++
		}
	}
	app := &vm{name: fmt.Sprintf("app-%02d", apps+1)}
	app.vmwareID = "vm-" + app.name
	if app.id, err = store.CreateContext(sendense.NewContext{VMName: app.name, VMwareVMID: app.vmwareID,
		VMPath: "/DC1/vm/" + app.name, VCenterHost: vcenter, Datacenter: "DC1"}); err != nil {
		return err
	}
	fmt.Fprintf(w, "context %s: %s\n", app.name, app.id)
	if _, err := replicate(app); err != nil {
		return err
	}
	if err := liveFailover(store, w, app); err != nil {
		return err
	}

	integrity, err := store.IntegrityCheck()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "integrity ok: %v\n", integrity.OK)
	return store.Close()
}

func printContexts(store *sendense.Store, w io.Writer) error {
	contexts, err := store.ListContexts(sendense.ContextFilter{})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  %-8s %-19s %5s %5s %6s  %s\n", "vm", "status", "jobs", "ok", "failed", "last successful job")
	for _, c := range contexts {
		last := "-"
		if c.LastSuccessfulJobID != nil {
			last = *c.LastSuccessfulJobID
		}
		fmt.Fprintf(w, "  %-8s %-19s %5d %5d %6d  %s\n", c.VMName, c.CurrentStatus, c.TotalJobsRun, c.SuccessfulJobs, c.FailedJobs, last)
	}
	fmt.Fprintln(w, "  "+strings.Repeat("-", 60))
	return nil
}

// findOrCreateRepository returns the id of the repository named r.Name, creating it when the
// file does not have it yet.
func findOrCreateRepository(store *sendense.Store, r sendense.NewRepository) (string, error) {
	list, err := store.ListRepositories(sendense.RepositoryFilter{RepositoryType: r.RepositoryType})
	if err != nil {
		return "", err
	}
	for _, existing := range list {
		if existing.Name == r.Name {
			return existing.ID, nil
		}
	}
	return store.CreateRepository(r)
}

// backups walks the backup lifecycle of a 2-disk VM.
func backups(store *sendense.Store, w io.Writer, v *vm) error {
	primary, err := findOrCreateRepository(store, sendense.NewRepository{
		Name: "demo-local", RepositoryType: sendense.RepositoryLocal,
		Config: sendense.RepositoryConfig{"path": "/var/lib/sendense/backups"},
	})
	if err != nil {
		return err
	}
	offsite, err := findOrCreateRepository(store, sendense.NewRepository{
		Name: "demo-offsite", RepositoryType: sendense.RepositoryS3,
		Config: sendense.RepositoryConfig{"region": "eu-central-1", "bucket": "sendense-offsite"},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "repositories: demo-local %s, demo-offsite %s\n", primary, offsite)

	// The policy keeps the two newest points of each chain (and what they build on), and
	// copies every completed point to the offsite repository.
	policies, err := store.ListPolicies(sendense.PolicyFilter{RepositoryID: primary})
	if err != nil {
		return err
	}
	var policy *sendense.Policy
	for i := range policies {
		if policies[i].Name == "demo-daily" {
			policy = &policies[i]
		}
	}
	if policy == nil {
		id, err := store.CreatePolicy(sendense.NewPolicy{
			Name: "demo-daily", PrimaryRepositoryID: primary, RetentionDays: sendense.Int64(0), KeepLast: sendense.Int64(2),
			CopyRules: []sendense.NewCopyRule{{DestinationRepositoryID: offsite, Priority: 1}},
		})
		if err != nil {
			return err
		}
		if policy, err = store.Policy(id); err != nil {
			return err
		}
	}
	for _, r := range policy.CopyRules {
		fmt.Fprintf(w, "policy %s %s: primary %s, keep last %d, copy rule %s to %s (%s, priority %d)\n", policy.Name, policy.ID,
			policy.PrimaryRepositoryID, deref64(policy.KeepLast), r.ID, r.DestinationRepositoryID, r.CopyMode, r.Priority)
	}

	// One VM backup: a point of each disk, sharing a group id. The library finds the parent of
	// an incremental.
	epoch := []string{"52 10 20 30 40 50 60 70-80 90 a0 b0 c0 d0 e0 f0", "52 0f 1e 2d 3c 4b 5a 69-78 87 96 a5 b4 c3 d2 e1"}
	stamp := time.Now().UTC().Format("20060102T150405.000000000")
	seq := 0
	backUp := func(typ sendense.BackupType) ([]string, error) {
		seq++
		group := fmt.Sprintf("%s-%s-%d", v.name, stamp, seq)
		var ids []string
		for disk := int64(0); disk < 2; disk++ {
			id, err := store.StartBackup(sendense.BackupStart{
				ContextID: v.id, DiskID: disk, RepositoryID: primary, BackupType: typ, PolicyID: policy.ID,
				BackupGroupID: group, RepositoryPath: fmt.Sprintf("/var/lib/sendense/backups/%s/disk-%d/%s.qcow2", v.name, disk, group),
			})
			if err != nil {
				return nil, err
			}
			if err := store.SetBackupRunning(id); err != nil {
				return nil, err
			}
			size := int64(1 << 30) // an incremental: 1 GiB of changed blocks
			if typ == sendense.BackupFull {
				size = 8 << 30
			}
			if err := store.CompleteBackup(id, fmt.Sprintf("%s/%d", epoch[disk], 10+seq), size, size); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		fmt.Fprintf(w, "%s backup %s (%s): disk 0 %s, disk 1 %s\n", v.name, group, typ, ids[0], ids[1])
		return ids, nil
	}

	// A full and three incrementals.
	var newest string
	for _, typ := range []sendense.BackupType{sendense.BackupFull, sendense.BackupIncremental, sendense.BackupIncremental, sendense.BackupIncremental} {
		ids, err := backUp(typ)
		if err != nil {
			return err
		}
		newest = ids[1]
	}
	if err := printChains(store, w, v.id); err != nil {
		return err
	}

	chain, err := store.RestoreChain(newest)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "restore chain of %s:\n", newest)
	for _, p := range chain {
		fmt.Fprintf(w, "  %-11s %s (disk %d, change id %s, parent %s)\n", p.BackupType, p.ID, p.DiskID, deref(p.ChangeID), deref(p.ParentBackupID))
	}

	// The full is what the incrementals build on: the library refuses its deletion and says why.
	err = store.DeleteBackupPoint(chain[0].ID)
	var refusal *sendense.Error
	if !errors.As(err, &refusal) || !errors.Is(err, sendense.ErrConflict) {
		return fmt.Errorf("deleting the full %s: got %v, want a conflict", chain[0].ID, err)
	}
	fmt.Fprintf(w, "delete %s refused with status %d %s: %s\n", chain[0].ID, refusal.Status, refusal.Status,
		strings.TrimPrefix(refusal.Message, refusal.Status.String()+": "))

	// The next week: a new full and two incrementals start a new generation. Retention keeps
	// the two newest points of each chain and what they build on, and removes the rest.
	for _, typ := range []sendense.BackupType{sendense.BackupFull, sendense.BackupIncremental, sendense.BackupIncremental} {
		if _, err := backUp(typ); err != nil {
			return err
		}
	}
	plan, err := store.PlanRetention(policy.ID, time.Now(), "Europe/Berlin")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "retention plan of %s: %d points, keep %d, remove %d\n", policy.Name, plan.Points, plan.Kept, plan.Removed)
	for _, k := range plan.Keep {
		fmt.Fprintf(w, "  keep   %s: %s\n", k.ID, strings.Join(k.Reasons, ", "))
	}
	for _, id := range plan.Remove {
		fmt.Fprintf(w, "  remove %s\n", id)
	}
	if err := store.ApplyRetention(plan); err != nil {
		return err
	}
	fmt.Fprintf(w, "retention applied: %d points removed\n", len(plan.Remove))
	if err := printChains(store, w, v.id); err != nil {
		return err
	}

	// The copy rule queued a copy of every completed point; a worker claims the oldest left.
	claimed, err := store.ClaimCopy("demo-worker")
	if err != nil {
		return err
	}
	if claimed == nil {
		return errors.New("no copy to claim: the copy rule queued none")
	}
	fmt.Fprintf(w, "claimed copy %s of backup %s to %s: %s, file %s\n", claimed.ID, claimed.SourceBackupID,
		claimed.RepositoryID, claimed.Status, claimed.FilePath)
	// The worker copies the file, then records what it wrote and the checksum verification.
	// Until it finishes, the copy keeps its backup from deletion and from retention.
	if err := store.SetCopyVerifying(claimed.ID, claimed.FilePath, 1<<30); err != nil {
		return err
	}
	if err := store.CompleteCopy(claimed.ID, sendense.VerificationPassed); err != nil {
		return err
	}
	fmt.Fprintf(w, "copy %s: verified and completed\n", claimed.ID)
	return nil
}

// targets records where a VM's disks land in CloudStack: the configuration (created once,
// its secrets sealed), a volume per disk linked to its disk row, and a test failover's
// snapshot tracking while the volumes are attached.
func targets(store *sendense.Store, w io.Writer, v *vm) error {
	configs, err := store.ListCloudStackConfigs()
	if err != nil {
		return err
	}
	var config *sendense.CloudStackConfig
	for i := range configs {
		if configs[i].Name == "demo-cloud" {
			config = &configs[i]
		}
	}
	if config == nil {
		id, err := store.CreateCloudStackConfig(sendense.NewCloudStackConfig{
			Name: "demo-cloud", APIURL: "https://cloud.demo.local/client/api", APIKey: "AK-demo-0123456789",
			SecretKey: "SK-demo-abcdefghij", Zone: "zone-1", DiskOfferingID: "do-ssd", IsActive: true,
		})
		if err != nil {
			return err
		}
		if config, err = store.CloudStackConfig(id); err != nil {
			return err
		}
	}
	// The read-out carries no secret, only the id of the key that sealed them.
	fmt.Fprintf(w, "CloudStack configuration %d %s (%s, zone %s, active %v): secrets sealed with key %s\n",
		config.ID, config.Name, config.APIURL, config.Zone, config.IsActive, deref(config.SealedWithKey))
	secrets, err := store.CloudStackConfigSecrets(config.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  secrets opened on request: api key %.6s..., secret of %d characters\n", secrets.APIKey, len(secrets.SecretKey))

	// A volume per disk, recorded once, available and linked to its disk row.
	disks, err := store.Disks(v.id)
	if err != nil {
		return err
	}
	var volumes []*sendense.Volume
	for _, d := range disks {
		volumeID := fmt.Sprintf("demo-%s-%s", v.name, d.DiskID)
		vol, err := store.FindVolume(volumeID)
		if errors.Is(err, sendense.ErrNotFound) {
			var row int64
			row, err = store.CreateVolume(sendense.NewVolume{VMContextID: v.id, VolumeID: volumeID,
				VolumeName: v.name + "-" + d.DiskID, SizeGB: d.SizeGB, OSSEAConfigID: &config.ID, VolumeType: "DATADISK"})
			if err == nil {
				vol, err = store.Volume(row)
			}
		}
		if err != nil {
			return err
		}
		if vol.Status == sendense.VolumeCreating {
			if err := store.SetVolumeStatus(vol.ID, sendense.VolumeAvailable, ""); err != nil {
				return err
			}
		}
		if err := store.LinkVolumeDisk(vol.ID, v.id, d.DiskID); err != nil {
			return err
		}
		if vol, err = store.Volume(vol.ID); err != nil {
			return err
		}
		fmt.Fprintf(w, "  volume %d %s for %s: %s\n", vol.ID, vol.VolumeID, d.DiskID, vol.Status)
		volumes = append(volumes, vol)
	}

	// The volumes use the configuration: the library refuses its deletion and says why.
	err = store.DeleteCloudStackConfig(config.ID)
	var refusal *sendense.Error
	if !errors.As(err, &refusal) || !errors.Is(err, sendense.ErrConflict) {
		return fmt.Errorf("deleting configuration %d: got %v, want a conflict", config.ID, err)
	}
	fmt.Fprintf(w, "delete of configuration %d refused with status %d %s: %s\n", config.ID, refusal.Status, refusal.Status,
		strings.TrimPrefix(refusal.Message, refusal.Status.String()+": "))

	// A backup NBD port, leased to this run: no other owner gets it while the lease lives.
	owner := fmt.Sprintf("demo-%d", time.Now().UnixNano())
	lease, err := store.AcquireLease(sendense.PoolBackupNBDPort, owner, time.Hour)
	if err != nil {
		return err
	}
	var port int64
	if _, err := fmt.Sscan(lease.Resource, &port); err != nil {
		return err
	}
	fmt.Fprintf(w, "leased backup NBD port %s to %s until %s\n", lease.Resource, owner, lease.ExpiresAt.Format(time.RFC3339))

	// The hub attaches the volumes: a device mapping and its NBD export each, in one
	// transaction, recorded as the volume daemon's operation with its status history.
	paths := map[string]string{}
	var exports []sendense.NewNBDExport
	for i, vol := range volumes {
		device := fmt.Sprintf("/dev/vd%c", 'b'+i)
		op, err := store.CreateVolumeOperation(sendense.NewVolumeOperation{Type: sendense.VolumeOpAttach, VolumeID: vol.VolumeID,
			VMID: "demo-hub", Request: map[string]string{"volume_id": vol.VolumeID, "vm_id": "demo-hub"}})
		if err != nil {
			return err
		}
		if err := store.SetVolumeOperationStatus(op, sendense.VolumeOpExecuting, nil, ""); err != nil {
			return err
		}
		export := sendense.NewNBDExport{VolumeUUID: vol.VolumeID, VMDiskID: disks[i].ID, Port: port}
		// The volume's row becomes attached at the device in the same transaction.
		mapping, err := store.AttachDevice(sendense.NewDeviceMapping{VMContextID: v.id, VolumeUUID: vol.VolumeID, VMID: "demo-hub",
			DevicePath: device, Size: vol.SizeGB << 30, Export: &export})
		if err != nil {
			return err
		}
		if err := store.SetVolumeOperationStatus(op, sendense.VolumeOpCompleted, map[string]string{"device_path": device, "mapping_id": mapping}, ""); err != nil {
			return err
		}
		history, err := store.VolumeOperationHistory(op)
		if err != nil {
			return err
		}
		var steps []string
		for _, h := range history {
			from := "none"
			if h.PreviousStatus != nil {
				from = string(*h.PreviousStatus)
			}
			steps = append(steps, from+" -> "+string(h.NewStatus))
		}
		fmt.Fprintf(w, "  %s attached at %s: mapping %s, operation %s: %s\n", vol.VolumeID, device, mapping, op, strings.Join(steps, ", "))
		paths[vol.VolumeID] = device
		exports = append(exports, export)
	}
	if err := printExports(store, w, v.id); err != nil {
		return err
	}

	// A test failover protects each volume with a snapshot, and rolls back.
	for _, vol := range volumes {
		snapshot := fmt.Sprintf("snap-%s-%d", vol.VolumeID, time.Now().UnixNano())
		if err := store.SetVolumeSnapshot(vol.ID, sendense.SnapshotCreating, snapshot); err != nil {
			return err
		}
		if err := store.SetVolumeSnapshot(vol.ID, sendense.SnapshotReady, ""); err != nil {
			return err
		}
		ready, err := store.Volume(vol.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s snapshot %s %s\n", ready.VolumeID, deref(ready.SnapshotID), ready.SnapshotStatus)
		if err := store.SetVolumeSnapshot(vol.ID, sendense.SnapshotRollbackComplete, ""); err != nil {
			return err
		}
		if err := store.SetVolumeSnapshot(vol.ID, sendense.SnapshotNone, ""); err != nil {
			return err
		}
	}

	// Failover: every mapping of the VM switches in one transaction and the exports go with
	// it; back to oma with the hub device paths, the exports re-created.
	if err := store.SetDeviceMode(v.id, sendense.ModeFailover); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s switched to failover\n", v.name)
	if err := printExports(store, w, v.id); err != nil {
		return err
	}
	if err := store.SwitchDeviceMode(sendense.ModeSwitch{ContextID: v.id, Mode: sendense.ModeOMA, VMID: "demo-hub",
		DevicePaths: paths, Exports: exports}); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s switched back to oma\n", v.name)
	if err := printExports(store, w, v.id); err != nil {
		return err
	}

	if err := testFailover(store, w, v, paths, exports); err != nil {
		return err
	}

	// Detach: each mapping goes with its export and its volume row becomes detached; the port
	// is released by its owner.
	for _, vol := range volumes {
		if err := store.DetachDevice(vol.VolumeID); err != nil {
			return err
		}
		detached, err := store.Volume(vol.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s %s\n", detached.VolumeID, detached.Status)
	}
	if err := store.ReleaseLeases(sendense.PoolBackupNBDPort, owner); err != nil {
		return err
	}
	left, err := store.Leases(sendense.PoolBackupNBDPort, owner)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "released the port: %d lease(s) left for %s\n", len(left), owner)
	consistency, err := store.StorageConsistency()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "storage consistency ok: %v\n", consistency.OK)
	metrics, err := store.VolumeMetrics()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "volume daemon: %d operations (%d pending), %d active mappings, average response %.1f ms, error rate %.1f%%\n",
		metrics.TotalOperations, metrics.PendingOperations, metrics.ActiveMappings, metrics.AverageResponseTimeMs, metrics.ErrorRatePercent)
	return nil
}

// mapNetworks maps each of networks of a context to a CloudStack network for both failover
// kinds (one row per kind) and records both rows as validated.
func mapNetworks(store *sendense.Store, w io.Writer, contextID string, networks ...string) error {
	mapped := map[string]bool{}
	for _, source := range networks {
		mapped[source] = true
		dest := "cs-" + strings.ReplaceAll(strings.ToLower(source), " ", "-")
		if err := store.SetNetworkMapping(sendense.NewNetworkMapping{VMContextID: contextID, SourceNetworkName: source,
			DestinationNetworkID: dest, DestinationNetworkName: dest, MappingType: sendense.MappingBoth}); err != nil {
			return err
		}
		if err := store.ValidateNetworkMapping(contextID, source, sendense.MappingBoth, true); err != nil {
			return err
		}
	}
	mappings, err := store.NetworkMappings(contextID)
	if err != nil {
		return err
	}
	for _, m := range mappings {
		if mapped[m.SourceNetworkName] {
			fmt.Fprintf(w, "  network %q (%s) -> %s: %s\n", m.SourceNetworkName, m.MappingType, m.DestinationNetworkName, m.ValidationStatus)
		}
	}
	return nil
}

// showContext prints a context's status and last operation summary (the failover area writes it).
func showContext(store *sendense.Store, w io.Writer, contextID string) error {
	c, err := store.Context(contextID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  context %s: %s, last operation %s\n", c.VMName, c.CurrentStatus, c.LastOperationSummary)
	return nil
}

// walkFailover moves a failover through every step; the CloudStack VM is created at
// creating_vm, and the devices switch to failover mode at switching_volume.
func walkFailover(store *sendense.Store, w io.Writer, v *vm, job sendense.FailoverType, id string) error {
	for _, status := range []sendense.FailoverStatus{sendense.FailoverValidating, sendense.FailoverSnapshotting,
		sendense.FailoverCreatingVM, sendense.FailoverSwitchingVolume, sendense.FailoverPoweringOn, sendense.FailoverCompleted} {
		var results *sendense.FailoverStepResults
		if status == sendense.FailoverCreatingVM {
			results = &sendense.FailoverStepResults{DestinationVMID: "cs-vm-" + v.name}
		}
		if err := store.SetFailoverStatus(id, status, results); err != nil {
			return err
		}
	}
	f, err := store.Failover(id)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s failover %s of %s: %s, destination VM %s\n", job, id, v.name, f.Status, deref(f.DestinationVMID))
	return nil
}

// testFailover fails a VM whose volumes are attached at paths over as a test, and rolls it
// back: at reverting the devices come back at paths, the exports re-created.
func testFailover(store *sendense.Store, w io.Writer, v *vm, paths map[string]string, exports []sendense.NewNBDExport) error {
	fmt.Fprintf(w, "network mappings of %s:\n", v.name)
	if err := mapNetworks(store, w, v.id, "VM Network", "backend"); err != nil {
		return err
	}
	id, err := store.StartFailover(sendense.FailoverStart{ContextID: v.id, JobType: sendense.FailoverTest})
	if err != nil {
		return err
	}
	if err := walkFailover(store, w, v, sendense.FailoverTest, id); err != nil {
		return err
	}
	if err := printExports(store, w, v.id); err != nil {
		return err
	}
	if err := showContext(store, w, v.id); err != nil {
		return err
	}
	if err := store.RollbackFailover(id); err != nil {
		return err
	}
	back := &sendense.FailoverStepResults{DevicePaths: paths, Exports: exports}
	if err := store.SetFailoverStatus(id, sendense.FailoverReverting, back); err != nil {
		return err
	}
	if err := store.SetFailoverStatus(id, sendense.FailoverCompleted, nil); err != nil {
		return err
	}
	fmt.Fprintf(w, "rolled back test failover %s\n", id)
	if err := printExports(store, w, v.id); err != nil {
		return err
	}
	return showContext(store, w, v.id)
}

// liveFailover fails a VM over live: refused while one of its networks has no mapping (the
// message names it), then walked and committed (the context becomes completed, for good).
func liveFailover(store *sendense.Store, w io.Writer, v *vm) error {
	fmt.Fprintf(w, "network mappings of %s:\n", v.name)
	if err := mapNetworks(store, w, v.id, "VM Network"); err != nil {
		return err
	}
	start := sendense.FailoverStart{ContextID: v.id, JobType: sendense.FailoverLive}
	_, err := store.StartFailover(start)
	var refusal *sendense.Error
	if !errors.As(err, &refusal) || !errors.Is(err, sendense.ErrInvalidState) {
		return fmt.Errorf("a live failover of %s with the dmz network unmapped: got %v, want an invalid state", v.name, err)
	}
	fmt.Fprintf(w, "live failover of %s refused with status %d %s: %s\n", v.name, refusal.Status, refusal.Status,
		strings.TrimPrefix(refusal.Message, refusal.Status.String()+": "))
	if err := mapNetworks(store, w, v.id, "dmz"); err != nil {
		return err
	}
	id, err := store.StartFailover(start)
	if err != nil {
		return err
	}
	if err := walkFailover(store, w, v, sendense.FailoverLive, id); err != nil {
		return err
	}
	if err := showContext(store, w, v.id); err != nil {
		return err
	}
	if err := store.CommitFailover(id); err != nil {
		return err
	}
	fmt.Fprintf(w, "committed live failover %s\n", id)
	return showContext(store, w, v.id)
}

// printExports prints the mappings of a context with their exports.
func printExports(store *sendense.Store, w io.Writer, contextID string) error {
	mappings, err := store.DeviceMappings(contextID)
	if err != nil {
		return err
	}
	for _, m := range mappings {
		export := "no export"
		if x, err := store.NBDExport("migration-vol-" + m.VolumeUUID); err == nil {
			export = fmt.Sprintf("export %s on port %d, %s", x.ExportName, x.Port, x.Status)
		} else if !errors.Is(err, sendense.ErrNotFound) {
			return err
		}
		fmt.Fprintf(w, "  %s %s at %s, %s\n", m.VolumeUUID, m.OperationMode, deref(m.DevicePath), export)
	}
	return nil
}

func printChains(store *sendense.Store, w io.Writer, contextID string) error {
	chains, err := store.Chains(contextID)
	if err != nil {
		return err
	}
	for _, c := range chains {
		fmt.Fprintf(w, "  chain of disk %d in %s: %d points, %d bytes, full %s, latest %s\n", c.DiskID, c.RepositoryID,
			c.TotalBackups, c.TotalSizeBytes, deref(c.FullBackupID), deref(c.LatestBackupID))
	}
	return nil
}

func deref64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func deref(p *string) string {
	if p == nil {
		return "-"
	}
	return *p
}
