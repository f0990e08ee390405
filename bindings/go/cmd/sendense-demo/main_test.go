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
