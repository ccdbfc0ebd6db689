// Command kwps-bench is the kwps load generator and benchmark suite. It runs each scenario against
// kwps, the Centrifuge peer and a bare gobwas/ws server, one system after another, with the servers on
// CPU 0 and itself on CPU 1, and prints a Markdown table (also written to -out).
//
//	kwps-bench -kwps bin/kwps -peer-src ../shared/bench/centrifuge-peer -out test/bench/RESULTS.md
//	kwps-bench -smoke                    # every scenario, tiny, in seconds
//	kwps-bench -scenarios S3 -systems kwps,bare
//
// `kwps-bench bare-server -addr HOST:PORT` is the bare baseline server, which the suite runs as a
// process of its own.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/kwps/kwps/test/bench/internal/latency"
	"github.com/kwps/kwps/test/bench/internal/report"
	"github.com/kwps/kwps/test/bench/internal/scenario"
	"github.com/kwps/kwps/test/bench/internal/system"
)

// CPUs of the split: servers on one, the load generator on the other.
const (
	serverCPU = "0"
	loadCPU   = "1"
	// pinnedEnv marks the re-executed, pinned load generator.
	pinnedEnv = "KWPS_BENCH_PINNED"
)

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "bare-server" {
		err = runBare(os.Args[2:])
	} else {
		err = run(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kwps-bench:", err)
		os.Exit(1)
	}
}

type options struct {
	smoke                  bool
	out, readme            string
	kwps, peerSrc, peerBin string
	systems, scenarios     string
	size, smallSize        int
	profileDir             string
	noPin, keep            bool
}

func run(args []string) error {
	var o options
	fs := flag.NewFlagSet("kwps-bench", flag.ContinueOnError)
	fs.BoolVar(&o.smoke, "smoke", false, "run every scenario tiny (seconds): proves the tool, measures nothing")
	fs.StringVar(&o.out, "out", "", "also write the Markdown report to this file")
	fs.StringVar(&o.readme, "readme", "", "replace the section between <!-- bench:begin --> and <!-- bench:end --> of these files (comma-separated) with the report")
	fs.StringVar(&o.kwps, "kwps", envOr("KWPS_BIN", "bin/kwps"), "kwps binary (env KWPS_BIN)")
	fs.StringVar(&o.peerSrc, "peer-src", envOr("KWPS_BENCH_PEER_SRC", "../shared/bench/centrifuge-peer"), "source of the Centrifuge peer, built with go build (env KWPS_BENCH_PEER_SRC)")
	fs.StringVar(&o.peerBin, "peer-bin", "", "a built Centrifuge peer (instead of -peer-src)")
	fs.StringVar(&o.systems, "systems", strings.Join(scenario.AllSystems, ","), "systems to run, comma-separated")
	fs.StringVar(&o.scenarios, "scenarios", strings.Join(scenario.AllScenarios, ","), "scenarios to run, comma-separated")
	fs.IntVar(&o.size, "size", 2048, "message payload bytes (Azure's method: 2048)")
	fs.IntVar(&o.smallSize, "small-size", 64, "payload bytes of the small-message variant")
	fs.StringVar(&o.profileDir, "profile-dir", "", "write CPU profiles of kwps at its maximum rates here (needs pprof on its admin listener)")
	fs.BoolVar(&o.noPin, "no-pin", false, "do not pin servers and load to separate CPUs")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (server logs)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var notes []string
	pinned, why := pinning(o.noPin)
	if pinned && os.Getenv(pinnedEnv) == "" {
		return reexecPinned()
	}
	if why != "" {
		notes = append(notes, why)
	}

	cfg, cleanup, err := configure(o, pinned, &notes)
	if err != nil {
		return err
	}
	defer cleanup()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	t := &report.Table{Title: fmt.Sprintf("kwps benchmark (%s)", cfg.Profile.Name)}
	started, loadBefore := time.Now(), loadAverage()
	runErr := scenario.Run(ctx, cfg, t)
	t.Facts = facts(o, cfg, pinned, time.Since(started))
	t.Facts = append(t.Facts, fmt.Sprintf("machine load (1-min load average) before the run %s, after %s: anything above 0 is other work sharing the CPUs", loadBefore, loadAverage()))
	t.Notes = append(notes, t.Notes...)

	md := t.Markdown()
	fmt.Print(md)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			return err
		}
	}
	if o.readme != "" && runErr == nil {
		// A README holds the report under a heading of its own: one level deeper.
		for _, readme := range strings.Split(o.readme, ",") {
			if err := report.ReplaceSection(readme, strings.Replace(md, "## ", "### ", 1)); err != nil {
				return err
			}
		}
	}
	return runErr
}

// configure checks the inputs, builds the peer and makes the work directory.
func configure(o options, pinned bool, notes *[]string) (scenario.Config, func(), error) {
	cfg := scenario.Config{Size: o.size, SmallSize: o.smallSize, Redis: system.RedisAvailable(), Log: os.Stderr}
	cfg.Profile = scenario.Full()
	if o.smoke {
		cfg.Profile = scenario.Smoke()
	}
	if o.size < latency.HeadLen || o.smallSize < latency.HeadLen {
		return cfg, nil, fmt.Errorf("-size and -small-size must be at least %d bytes (the latency head)", latency.HeadLen)
	}
	var err error
	if cfg.Systems, err = choose(o.systems, scenario.AllSystems); err != nil {
		return cfg, nil, err
	}
	if cfg.Scenarios, err = choose(o.scenarios, scenario.AllScenarios); err != nil {
		return cfg, nil, err
	}
	if pinned {
		cfg.ServerCPU = serverCPU
	}
	if slices.Contains(cfg.Systems, system.NameKwps) {
		if cfg.KwpsBin, err = filepath.Abs(o.kwps); err == nil {
			_, err = os.Stat(cfg.KwpsBin)
		}
		if err != nil {
			return cfg, nil, fmt.Errorf("kwps binary: %w (make build, or -kwps)", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return cfg, nil, err
	}
	cfg.BareArgv = []string{self, "bare-server"}
	if cfg.WorkDir, err = os.MkdirTemp("", "kwps-bench-"); err != nil {
		return cfg, nil, err
	}
	cleanup := func() {
		if o.keep {
			fmt.Fprintln(os.Stderr, "kwps-bench: logs kept in", cfg.WorkDir)
			return
		}
		_ = os.RemoveAll(cfg.WorkDir)
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			cleanup()
			return cfg, nil, err
		}
		cfg.ProfileDir = o.profileDir
	}
	if !cfg.Redis {
		*notes = append(*notes, "redis-server is not installed: S5 (scale-out over Redis) did not run.")
	}
	if slices.Contains(cfg.Systems, system.NamePeer) {
		cfg.PeerBin, err = peer(o, cfg.WorkDir)
		if err != nil {
			*notes = append(*notes, "the Centrifuge peer did not run: "+err.Error())
		}
	}
	return cfg, cleanup, nil
}

// peer returns the Centrifuge peer binary: -peer-bin, or built from -peer-src.
func peer(o options, dir string) (string, error) {
	if o.peerBin != "" {
		return filepath.Abs(o.peerBin)
	}
	if _, err := os.Stat(filepath.Join(o.peerSrc, "go.mod")); err != nil {
		return "", fmt.Errorf("no peer source at %s (-peer-src)", o.peerSrc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	fmt.Fprintln(os.Stderr, "building the Centrifuge peer from", o.peerSrc)
	return system.BuildPeer(ctx, o.peerSrc, dir)
}

// choose parses a comma-separated selection from all, keeping all's order.
func choose(list string, all []string) ([]string, error) {
	var out []string
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(all, name) {
			return nil, fmt.Errorf("unknown %q: choose from %s", name, strings.Join(all, ", "))
		}
		out = append(out, name)
	}
	var ordered []string
	for _, a := range all {
		if slices.Contains(out, a) {
			ordered = append(ordered, a)
		}
	}
	if len(ordered) == 0 {
		return nil, errors.New("nothing selected")
	}
	return ordered, nil
}

// pinning says whether servers and load can run on separate CPUs, and if not, why.
func pinning(disabled bool) (bool, string) {
	switch {
	case disabled:
		return false, "not pinned (-no-pin): servers and load generator share the CPUs."
	case runtime.GOOS != "linux":
		return false, "not pinned: CPU pinning needs Linux."
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return false, "not pinned: taskset (util-linux) is not installed; servers and load generator share the CPUs."
	}
	if n := numCPU(); n < 2 {
		return false, "not pinned: this machine has one CPU."
	}
	return true, ""
}

// numCPU counts the machine's CPUs, not those of this process's affinity mask.
func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.NumCPU()
	}
	return strings.Count(string(b), "\nprocessor") + boolInt(strings.HasPrefix(string(b), "processor"))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// reexecPinned replaces this process with itself under `taskset -c loadCPU`, so that the Go runtime
// starts with one CPU (GOMAXPROCS follows the affinity mask).
func reexecPinned() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return err
	}
	argv := append([]string{"taskset", "-c", loadCPU, self}, os.Args[1:]...)
	return syscall.Exec(taskset, argv, append(os.Environ(), pinnedEnv+"=1"))
}

// facts describe the run for the report.
func facts(o options, cfg scenario.Config, pinned bool, took time.Duration) []string {
	f := []string{
		"machine: " + report.Machine(),
		fmt.Sprintf("run: %s, profile %s, took %s", time.Now().UTC().Format("2006-01-02 15:04 UTC"), cfg.Profile.Name, took.Round(time.Second)),
	}
	if rev := gitRevision(); rev != "" {
		f = append(f, "kwps: "+rev)
	}
	if v := peerVersion(o.peerSrc); v != "" && cfg.PeerBin != "" {
		f = append(f, "peer: Centrifuge "+v+" (JSON protocol), in-memory broker; Redis broker in S5")
	}
	if pinned {
		f = append(f, fmt.Sprintf("CPUs: servers (and Redis) on CPU %s, load generator and upstream on CPU %s (taskset)", serverCPU, loadCPU))
	}
	f = append(f,
		fmt.Sprintf("messages: %s B payloads (S4 also %s B); throughput is deliveries per second; max = best rate with p99 < 1 s (Azure's method), knee = p99 < 50 ms; a message never delivered counts as infinitely late", commaInt(cfg.Size), commaInt(cfg.SmallSize)),
		fmt.Sprintf("stepping: %s per step, x%.0f per step from each scenario's start, then %d bisection round(s); Azure units: 1,000 connections, 3,000 out msg/s (big groups, REST), 2,000 out msg/s (groups of 10), 500 echo msg/s per unit", cfg.Profile.Window, cfg.Profile.Factor, cfg.Profile.Bisect),
	)
	return f
}

// loadAverage is the 1-minute load average, "?" if unknown.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

func commaInt(n int) string { return report.Format(float64(n), report.Count) }

// gitRevision describes the checkout the benchmark runs in, if it is one.
func gitRevision() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// peerVersion reads the Centrifuge version the peer's go.mod requires.
func peerVersion(src string) string {
	b, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		for i, w := range f {
			if w == "github.com/centrifugal/centrifuge" && i+1 < len(f) {
				return f[i+1]
			}
		}
	}
	return ""
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
