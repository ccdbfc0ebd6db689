package scaleout

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// build is the kwps binary shared by every test and benchmark of the package: KWPS_BIN, or built once
// from this checkout into a directory TestMain removes.
var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// kwpsBinary returns the binary under test, building it on first use.
func kwpsBinary(tb testing.TB) string {
	tb.Helper()
	build.once.Do(func() {
		if bin := os.Getenv("KWPS_BIN"); bin != "" {
			if _, err := os.Stat(bin); err != nil {
				build.err = fmt.Errorf("KWPS_BIN: %w (unset it to build kwps from this checkout)", err)
				return
			}
			build.bin, build.err = filepath.Abs(bin)
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			build.err = fmt.Errorf("KWPS_BIN is not set and there is no go command to build kwps with")
			return
		}
		if build.dir, err = os.MkdirTemp("", "kwps-scaleout-"); err != nil {
			build.err = err
			return
		}
		bin := filepath.Join(build.dir, "kwps")
		cmd := exec.Command(goBin, "build", "-o", bin, ".")
		cmd.Dir = filepath.Join("..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build kwps: %w\n%s", err, out)
			return
		}
		build.bin = bin
	})
	if build.err != nil {
		tb.Fatal(build.err)
	}
	return build.bin
}
