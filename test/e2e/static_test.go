package e2e

import (
	"bufio"
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestStaticBinary checks the release build that the image ships: `make build-static` (which the
// Dockerfile runs) makes a statically linked binary without build paths, and it runs `kwps version`
// and `kwps serve` on a system with nothing but itself.
func TestStaticBinary(t *testing.T) {
	bin := staticBinary(t)

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("not an ELF binary: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary has a PT_INTERP program header: it needs a dynamic loader, which distroless/static lacks")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Fatalf("the binary needs shared libraries %v (%v)", libs, err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if root, _ := filepath.Abs(repoRoot); bytes.Contains(data, []byte(root+"/")) {
		t.Fatalf("the binary holds the build directory %s: -trimpath is missing", root)
	}

	out, err := exec.Command(bin, "version").Output()
	if err != nil || strings.TrimSpace(string(out)) != staticVersion {
		t.Fatalf("kwps version = %q, %v; want the stamped %q", out, err, staticVersion)
	}

	// kwps serve prints its connection string before it accepts connections.
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	cmd.Env = cleanEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "Endpoint=") {
				lines <- sc.Text()
				return
			}
		}
		close(lines)
	}()
	select {
	case line, ok := <-lines:
		if !ok || !regexp.MustCompile(`^Endpoint=http://127\.0\.0\.1:\d+;AccessKey=[^;]+;Version=1\.0;$`).MatchString(line) {
			t.Fatalf("kwps serve printed %q, want its connection string\nstderr:\n%s", line, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("kwps serve printed no Endpoint= line within 20 s\nstderr:\n%s", stderr.String())
	}
}

// TestDockerfile checks what the image is made of, since no container engine runs here: the static
// build of the Makefile, on distroless/static as the nonroot user, with kwps as the entrypoint.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := string(b)
	stages := regexp.MustCompile(`(?m)^FROM `).FindAllStringIndex(dockerfile, -1)
	if len(stages) < 2 {
		t.Fatalf("the Dockerfile has %d stages, want a builder and a final stage", len(stages))
	}
	final := dockerfile[stages[len(stages)-1][0]:]
	for _, want := range []struct{ in, what, re string }{
		{dockerfile, "a golang builder", `(?m)^FROM .*golang:\S+ AS builder$`},
		{dockerfile, "the Makefile's static build", `(?m)^RUN .*make build-static\b`},
		{dockerfile, "cgo off in the builder", `(?m)^ENV CGO_ENABLED=0$`},
		{final, "distroless static, nonroot", `^FROM gcr\.io/distroless/static:nonroot\n`},
		{final, "the nonroot user", `(?m)^USER 65532:65532$`},
		{final, `the entrypoint ["/kwps"]`, `(?m)^ENTRYPOINT \["/kwps"\]$`},
	} {
		if !regexp.MustCompile(want.re).MatchString(want.in) {
			t.Errorf("the Dockerfile lacks %s (%s)", want.what, want.re)
		}
	}
	// The target the Dockerfile runs is the static build.
	cmd := exec.Command("make", "-n", "build-static", "KWPS=/out/kwps", "VERSION=v0")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make -n build-static: %v", err)
	}
	for _, want := range []string{"CGO_ENABLED=0 ", " -trimpath ", "-X main.version=v0", "-o /out/kwps "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("make build-static runs %q, which lacks %q", out, want)
		}
	}
}
