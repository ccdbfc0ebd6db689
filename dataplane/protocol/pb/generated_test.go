package pb

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsCurrent fails when webpubsub.pb.go is not what the pinned buf and protoc-gen-go
// generate from webpubsub.proto: a changed .proto that was not regenerated, or a hand edit. It runs
// `make proto PROTO_VERIFY=1`, which builds the pinned tools into bin/ the first time (about 1.5 minutes
// on 2 cores, then cached) and generates into a temporary directory, never into the work tree.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds buf from the Go module proxy on first use")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "hack", "protogen.sh")); err != nil {
		t.Fatalf("repository root not found from the package directory: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), "make", "--no-print-directory", "-C", root, "proto", "PROTO_VERIFY=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make proto PROTO_VERIFY=1: %v\n%s", err, out)
	}
}
