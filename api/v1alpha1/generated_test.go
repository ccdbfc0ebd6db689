package v1alpha1_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// generatedPaths are what `make manifests generate` writes, relative to the repository root.
var generatedPaths = []string{"config/crd/bases", "config/rbac/role.yaml", "api"}

// isGenerated reports whether a file under generatedPaths is generated (api/ also holds the sources).
func isGenerated(rel string) bool {
	if strings.HasPrefix(rel, "api/") {
		return strings.HasPrefix(filepath.Base(rel), "zz_generated.")
	}
	return true
}

// TestGeneratedFilesAreUpToDate runs `make manifests generate` on a copy of the repository and fails when
// a committed CRD, the ClusterRole or a DeepCopy file differs from what the markers produce (the check
// of `make verify-generated`, without writing to the working tree). The pinned controller-gen is built
// into bin/ by the Makefile when missing.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs controller-gen; skipped with -short")
	}
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not installed; run `make verify-generated` where it is")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	copyTree(t, root, work)
	// Without the committed manifests, a stale extra one shows up below; the DeepCopy files stay, as the
	// API packages need them to type-check, and are regenerated in place.
	for _, p := range generatedPaths[:2] {
		if err := os.RemoveAll(filepath.Join(work, p)); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command(makeBin, "--no-print-directory", "-C", work, "LOCALBIN="+filepath.Join(root, "bin"), "manifests", "generate")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make manifests generate: %v\n%s", err, out)
	}

	want := generatedFiles(t, work)
	got := generatedFiles(t, root)
	for rel, data := range want {
		committed, ok := got[rel]
		switch {
		case !ok:
			t.Errorf("%s: missing; run `make manifests generate` and commit it", rel)
		case !bytes.Equal(committed, data):
			t.Errorf("%s: stale; run `make manifests generate` and commit it", rel)
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			t.Errorf("%s: no longer generated; delete it", rel)
		}
	}
}

// generatedFiles returns the generated files under root, by slash-separated relative path.
func generatedFiles(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, p := range generatedPaths {
		err := filepath.WalkDir(filepath.Join(root, p), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if d.IsDir() || !isGenerated(rel) {
				return nil
			}
			data, err := os.ReadFile(path)
			files[rel] = data
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// copyTree copies the repository's files, without version control, tools and package caches.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	skip := map[string]bool{".git": true, "bin": true, "dist": true} // top-level directories
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skip[rel] || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
