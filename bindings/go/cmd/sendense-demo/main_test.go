package main

import (
	"bytes"
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
	if len(groups) != 4 || chains != 2 || len(restore) != 8 {
		t.Fatalf("round %d: %d VM backups, %d chains, restore chain %v:\n%s", round, len(groups), chains, restore, text)
	}
	for i, g := range groups {
		want := "incremental"
		if i == 0 {
			want = "full"
		}
		if g[0] != want || restore[2*i] != want || restore[2*i+1] != g[2] {
			t.Fatalf("round %d: VM backup %d is %v, restore chain %v", round, i, g, restore)
		}
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
	if !strings.Contains(text, ": copying, file ") {
		t.Fatalf("round %d: the claimed copy is not copying:\n%s", round, text)
	}
}
