package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The demo runs on a new file, and again on the same file.
func TestDemo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo.db")
	for round := 1; round <= 2; round++ {
		var out bytes.Buffer
		if err := run(path, &out); err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, out.String())
		}
		text := out.String()
		for _, want := range []string{
			"started incremental job",
			"disk-2000: incremental copy (reason base_recorded",
			"lineage ok: true",
			"failed\n",
			"deleted job",
			"integrity ok: true",
		} {
			if !strings.Contains(text, want) {
				t.Fatalf("round %d: the output lacks %q:\n%s", round, want, text)
			}
		}
		checkBackups(t, round, text)
		checkTargets(t, round, path, text)
		checkFailovers(t, round, text)
		if round == 1 && !strings.Contains(text, "started initial job") {
			t.Fatalf("no initial job:\n%s", text)
		}
		// After the deletion web-01 counts 2 successful jobs per round, db-01 1 and no failure.
		tail := text[strings.LastIndex(text, "deleted job"):]
		web := lineOf(tail, "web-01")
		db := lineOf(tail, "db-01")
		if f := strings.Fields(web); len(f) < 6 || f[1] != "ready_for_failover" || f[2] != strconv.Itoa(2*round) || f[3] != strconv.Itoa(2*round) || f[4] != "0" {
			t.Fatalf("round %d: web-01 line %q", round, web)
		}
		if f := strings.Fields(db); len(f) < 6 || f[1] != "failed" || f[2] != strconv.Itoa(round) || f[3] != strconv.Itoa(round) || f[4] != "0" {
			t.Fatalf("round %d: db-01 line %q", round, db)
		}
	}
}

// checkTargets checks the targets part of one round's output: the key file (created once),
// the sealed configuration, a volume per disk, the refused delete and the snapshot cycle; and
// that no secret is in the output or the database files.
func checkTargets(t *testing.T, round int, path, text string) {
	t.Helper()
	if created := strings.Contains(text, "created the key file "+path+".key\n"); created != (round == 1) {
		t.Fatalf("round %d: key file created %v:\n%s", round, created, text)
	}
	first := lineOf(text, "libsendense")
	keyID := first[strings.LastIndex(first, " ")+1:]
	if !strings.Contains(first, ", secret key ") || len(keyID) != 16 {
		t.Fatalf("round %d: the first line does not name the key: %q", round, first)
	}
	status := "available"
	if round > 1 {
		status = "detached"
	}
	for _, want := range []string{
		"CloudStack configuration 1 demo-cloud (https://cloud.demo.local/client/api, zone zone-1, active true): secrets sealed with key " + keyID + "\n",
		"  secrets opened on request: api key AK-dem..., secret of 18 characters\n",
		"  volume 1 demo-web-01-disk-2000 for disk-2000: " + status + "\n",
		"  volume 2 demo-web-01-disk-2001 for disk-2001: " + status + "\n",
		"delete of configuration 1 refused with status 4 CONFLICT: CloudStack configuration 1 is used by 2 volume(s)",
		"leased backup NBD port ",
		"  demo-web-01-disk-2000 attached at /dev/vdb: mapping ",
		": none -> pending, pending -> executing, executing -> completed\n",
		"  demo-web-01-disk-2000 oma at /dev/vdb, export migration-vol-demo-web-01-disk-2000 on port ",
		"  demo-web-01-disk-2001 snapshot snap-demo-web-01-disk-2001-",
		"web-01 switched to failover\n  demo-web-01-disk-2000 failover at -, no export\n  demo-web-01-disk-2001 failover at -, no export\n",
		"web-01 switched back to oma\n  demo-web-01-disk-2000 oma at /dev/vdb, export ",
		"  demo-web-01-disk-2001 detached\n",
		"released the port: 0 lease(s) left for demo-",
		"storage consistency ok: true\n",
		fmt.Sprintf("volume daemon: %d operations (0 pending), 0 active mappings, ", 2*round),
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("round %d: the output lacks %q:\n%s", round, want, text)
		}
	}
	if strings.Contains(text, "AK-demo-0") || strings.Contains(text, "SK-demo") {
		t.Fatalf("round %d: a secret in the output:\n%s", round, text)
	}
	for _, f := range []string{path, path + "-wal"} {
		data, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("AK-demo-0")) || bytes.Contains(data, []byte("SK-demo")) {
			t.Fatalf("round %d: a secret in plaintext in %s", round, f)
		}
	}
}

// checkFailovers checks the failover part of one round's output: web-01's networks mapped and
// validated for both kinds, its test failover with the devices switched, the rollback with the
// devices back, and the round's new app VM: its live failover refused naming the unmapped
// network, then completed and committed; each followed by the context's status and summary.
func checkFailovers(t *testing.T, round int, text string) {
	t.Helper()
	app := fmt.Sprintf("app-%02d", round)
	for _, want := range []string{
		"network mappings of web-01:\n  network \"VM Network\" (live) -> cs-vm-network: valid\n  network \"VM Network\" (test) -> cs-vm-network: valid\n" +
			"  network \"backend\" (live) -> cs-backend: valid\n  network \"backend\" (test) -> cs-backend: valid\ntest failover ",
		" of web-01: completed, destination VM cs-vm-web-01\n  demo-web-01-disk-2000 failover at -, no export\n" +
			"  demo-web-01-disk-2001 failover at -, no export\n  context web-01: failed_over_test, last operation {",
		`"job_type":"test","operation":"failover","outcome":"completed","step":"completed"}`,
		"\n  demo-web-01-disk-2000 oma at /dev/vdb, export migration-vol-demo-web-01-disk-2000 on port ",
		"\n  demo-web-01-disk-2001 oma at /dev/vdc, export migration-vol-demo-web-01-disk-2001 on port ",
		`"job_type":"test","operation":"rollback","outcome":"completed","step":"completed"}`,
		"live failover of " + app + " refused with status 5 INVALID_STATE: context ",
		" cannot fail over (live): no live mapping for network dmz\n  network \"dmz\" (live) -> cs-dmz: valid\n",
		" of " + app + ": completed, destination VM cs-vm-" + app + "\n  context " + app + ": failed_over_live, last operation {",
		"  context " + app + ": completed, last operation {",
		`"job_type":"live","operation":"commit","outcome":"completed","step":"completed"}`,
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("round %d: the output lacks %q:\n%s", round, want, text)
		}
	}
	_, rolledBack, _ := strings.Cut(text, "rolled back test failover ")
	if !strings.HasPrefix(lineOf(rolledBack, "context"), "context web-01: ready_for_failover, last operation {") {
		t.Fatalf("round %d: web-01 after the rollback: %q", round, lineOf(rolledBack, "context"))
	}
}

func lineOf(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix+" ") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// checkBackups checks the backup part of one round's output: four VM backups of two points,
// two chains of four points, a restore chain of four links ending at the newest point, the
// refused delete of its full naming the first incremental, and a claimed copy.
func checkBackups(t *testing.T, round int, text string) {
	t.Helper()
	lines := strings.Split(text, "\n")
	var groups [][]string // per VM backup: its type and the two point ids
	var restore []string  // the links of the restore chain: type and id
	chains := 0
	for i, l := range lines {
		f := strings.Fields(l)
		switch {
		case strings.HasPrefix(l, "web-01 backup ") && len(f) == 10:
			groups = append(groups, []string{strings.Trim(f[3], "():"), strings.TrimSuffix(f[6], ","), f[9]})
		case strings.HasPrefix(l, "  chain of disk ") && strings.Contains(l, " 4 points, 11811160064 bytes"):
			chains++
		case strings.HasPrefix(l, "restore chain of "):
			for _, link := range lines[i+1:] {
				if !strings.HasPrefix(link, "  ") {
					break
				}
				restore = append(restore, strings.Fields(link)[0], strings.Fields(link)[1])
			}
		}
	}
	if len(groups) != 7 || chains != 2 || len(restore) != 8 {
		t.Fatalf("round %d: %d VM backups, %d chains, restore chain %v:\n%s", round, len(groups), chains, restore, text)
	}
	for i, g := range groups {
		want := "incremental"
		if i == 0 || i == 4 {
			want = "full"
		}
		if g[0] != want || (i < 4 && (restore[2*i] != want || restore[2*i+1] != g[2])) {
			t.Fatalf("round %d: VM backup %d is %v, restore chain %v", round, i, g, restore)
		}
	}
	// Retention keeps the newest generation (full 4, incrementals 5 and 6) of each disk with
	// its reasons, and removes everything older: the first generation of this round, and the
	// second generation of the round before.
	keep := map[string]string{}
	for _, l := range lines {
		if f := strings.SplitN(strings.TrimPrefix(l, "  keep   "), ": ", 2); len(f) == 2 && strings.HasPrefix(l, "  keep   ") {
			keep[f[0]] = f[1]
		}
	}
	for disk := 1; disk <= 2; disk++ {
		if keep[groups[6][disk]] != "keep-last 1" || keep[groups[5][disk]] != "keep-last 2" ||
			keep[groups[4][disk]] != "ancestor of "+groups[6][disk] {
			t.Fatalf("round %d: the plan keeps %v:\n%s", round, keep, text)
		}
		for _, g := range groups[:4] {
			if !strings.Contains(text, "  remove "+g[disk]+"\n") {
				t.Fatalf("round %d: the plan does not remove %s:\n%s", round, g[disk], text)
			}
		}
	}
	removed := 8 * round // 8 of this round's first generation, 6 of the previous round's second
	if round == 2 {
		removed = 14
	}
	if want := fmt.Sprintf("retention plan of demo-daily: %d points, keep 6, remove %d\n", 6+removed, removed); !strings.Contains(text, want) || len(keep) != 6 {
		t.Fatalf("round %d: the output lacks %q:\n%s", round, want, text)
	}
	if !strings.Contains(text, fmt.Sprintf("retention applied: %d points removed\n", removed)) ||
		strings.Count(text, " 3 points, 10737418240 bytes, full ") != 2 {
		t.Fatalf("round %d: the plan was not applied:\n%s", round, text)
	}
	for _, want := range []string{
		"restore chain of " + groups[3][2] + ":",
		"delete " + groups[0][2] + " refused with status 4 CONFLICT: backup " + groups[0][2] + " cannot be deleted: backup " + groups[1][2] + " builds on it",
		"claimed copy ",
		"policy demo-daily ",
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("round %d: the output lacks %q:\n%s", round, want, text)
		}
	}
	if !strings.Contains(text, ": copying, file ") || !strings.Contains(text, ": verified and completed\n") {
		t.Fatalf("round %d: the claimed copy was not copied, verified and completed:\n%s", round, text)
	}
}
