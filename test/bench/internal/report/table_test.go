package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMarkdownRatiosAndUnits(t *testing.T) {
	var tb Table
	tb.Add("S3", "kwps", "max out msg/s", 60000, MsgPerSec, 3000, "")
	tb.Add("S3", PeerSystem, "max out msg/s", 30000, MsgPerSec, 3000, "")
	tb.Add("S3 REST", "kwps", "max out msg/s", 9000, MsgPerSec, 3000, "")
	tb.Add("S3", "bare", "max out msg/s", 15000, MsgPerSec, 3000, "floor")
	tb.Fail("S3", "kwps", "knee out msg/s", "no rate kept p99 under 50 ms")
	tb.Notes = []string{"a note"}
	md := tb.Markdown()

	for _, c := range []struct{ name, row string }{
		{"twice the peer, 20 units", "| S3 | kwps | max out msg/s | 60,000 msg/s | 2.00 | 20.0 |  |"},
		{"the peer against itself", "| S3 | centrifuge | max out msg/s | 30,000 msg/s | 1.00 | 10.0 |  |"},
		{"half the peer, with its note", "| S3 | bare | max out msg/s | 15,000 msg/s | 0.50 | 5.0 | floor |"},
		{"no peer row in that scenario: no ratio", "| S3 REST | kwps | max out msg/s | 9,000 msg/s |  | 3.0 |  |"},
		{"a failure shows why instead of a value", "| S3 | kwps | knee out msg/s | - |  |  | no rate kept p99 under 50 ms |"},
	} {
		if !strings.Contains(md, c.row+"\n") {
			t.Errorf("%s: missing row %q in\n%s", c.name, c.row, md)
		}
	}
	// Rows of one scenario stay together, in order of first appearance.
	if strings.Index(md, "| S3 | bare") > strings.Index(md, "| S3 REST |") {
		t.Errorf("a later scenario's row came between a scenario's rows:\n%s", md)
	}
	if !strings.HasSuffix(md, "- a note\n") {
		t.Errorf("notes missing at the end:\n%s", md)
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		v    float64
		u    Unit
		want string
	}{
		{1234567, MsgPerSec, "1,234,567 msg/s"},
		{999, ConnPerSec, "999 conn/s"},
		{10445, Bytes, "10.2 KiB"},
		{3 << 20, Bytes, "3.0 MiB"},
		{512, Bytes, "512 B"},
		{-2048, Bytes, "-2.0 KiB"},
		{2.356, Millis, "2.36 ms"},
		{1234.4, Millis, "1,234 ms"},
		{-1500, Count, "-1,500"},
		{0, Count, "0"},
	} {
		if got := Format(c.v, c.u); got != c.want {
			t.Errorf("Format(%v, %d) = %q, want %q", c.v, c.u, got, c.want)
		}
	}
}

func TestCellEscapesPipes(t *testing.T) {
	var tb Table
	tb.Fail("S1", "kwps", "-", "error: a|b\nc")
	if md := tb.Markdown(); !strings.Contains(md, `error: a\|b c |`) {
		t.Errorf("cell not escaped:\n%s", md)
	}
}

func TestReplaceSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	orig := "# title\n\nintro\n\n" + BeginMarker + "\nold table\n" + EndMarker + "\n\ntail\n"
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceSection(path, "new table\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := "# title\n\nintro\n\n" + BeginMarker + "\nnew table\n" + EndMarker + "\n\ntail\n"
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	if err := os.WriteFile(path, []byte("no markers"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceSection(path, "x"); err == nil {
		t.Error("a file without markers was accepted")
	}
}
