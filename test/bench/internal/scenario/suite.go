// Package scenario runs the benchmark scenarios (S1-S6 of the benchmark issue) against each system
// under test, one system after another, and adds their measurements to a report table.
//
// Throughput scenarios step the offered rate (messages delivered per second) up by a factor until p99
// latency reaches 1 s, then bisect; the maximum throughput is the best rate whose p99 stayed under 1 s
// (Azure's method) and the knee the best under 50 ms. A message that was sent but never arrived counts
// as infinitely late.
package scenario

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kwps/kwps/test/bench/internal/latency"
	"github.com/kwps/kwps/test/bench/internal/report"
	"github.com/kwps/kwps/test/bench/internal/system"
	"github.com/kwps/kwps/test/bench/internal/wsclient"
)

// Azure Web PubSub's published capacity of one unit (performance guide).
const (
	unitConnections = 1000
	unitBigGroupOut = 3000 // outbound msg/s, big groups and REST broadcast
	unitSmallOut    = 2000 // outbound msg/s, groups of 10
	unitEcho        = 500  // msg/s echoed through an upstream
)

// Config is what a suite run needs.
type Config struct {
	Profile Profile
	// Size is the message payload size (Azure's method: 2,048 B); SmallSize the small variant (64 B).
	Size, SmallSize int
	// Systems and Scenarios select what runs, in the order of AllSystems and AllScenarios.
	Systems, Scenarios []string
	// KwpsBin is the kwps binary; PeerBin the Centrifuge peer (empty: not run); BareArgv runs the bare
	// server (this program re-executed).
	KwpsBin, PeerBin string
	BareArgv         []string
	// ServerCPU pins servers (taskset -c); empty runs them unpinned.
	ServerCPU string
	// Redis says redis-server is installed (S5 needs it).
	Redis bool
	// WorkDir holds logs, manifests and Redis's directory.
	WorkDir string
	// ProfileDir, when set, receives CPU profiles of kwps at its maximum rates (if it serves pprof).
	ProfileDir string
	// Log receives progress.
	Log io.Writer
}

// AllSystems and AllScenarios are the names Config selects from.
var (
	AllSystems   = []string{system.NameKwps, system.NamePeer, system.NameBare}
	AllScenarios = []string{"S1", "S2", "S3", "S4", "S5", "S6"}
)

// runner carries one suite run.
type runner struct {
	cfg   Config
	prof  Profile
	table *report.Table
	st    *stepper
	notes map[string]bool
}

// Run runs the selected scenarios and adds their rows and notes to t. Failures of one system in one
// scenario become rows that say why; Run itself fails only when ctx ends.
func Run(ctx context.Context, cfg Config, t *report.Table) error {
	r := &runner{cfg: cfg, prof: cfg.Profile, table: t, notes: map[string]bool{}}
	r.st = &stepper{prof: cfg.Profile, logf: r.logf}
	scenarios := map[string]func(context.Context){
		"S1": r.idle, "S2": r.echo, "S3": r.bigGroups, "S4": r.smallGroups, "S5": r.cluster, "S6": r.slowAndChurn,
	}
	for _, s := range AllScenarios {
		if !slices.Contains(cfg.Scenarios, s) {
			continue
		}
		started := time.Now()
		scenarios[s](ctx)
		r.logf("%s done in %s", s, time.Since(started).Round(time.Second))
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (r *runner) logf(format string, args ...any) {
	if r.cfg.Log != nil {
		fmt.Fprintf(r.cfg.Log, format+"\n", args...)
	}
}

// note adds a note to the report once.
func (r *runner) note(s string) {
	if !r.notes[s] {
		r.notes[s] = true
		r.table.Notes = append(r.table.Notes, s)
	}
}

// systems are the selected systems among those a scenario applies to, in report order.
func (r *runner) systems(applies ...string) []string {
	var out []string
	for _, s := range AllSystems {
		if slices.Contains(r.cfg.Systems, s) && slices.Contains(applies, s) {
			if s == system.NamePeer && r.cfg.PeerBin == "" {
				continue
			}
			out = append(out, s)
		}
	}
	return out
}

// startOpts vary how systems start.
type startOpts struct {
	nodes     int
	manifests []string      // kwps only
	redis     *system.Redis // several nodes
}

// start starts name's processes for one run, logging under WorkDir/logs/label.
func (r *runner) start(ctx context.Context, name, label string, o startOpts) (system.System, error) {
	logDir := filepath.Join(r.cfg.WorkDir, "logs", label+"-"+name)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	nodes := max(o.nodes, 1)
	switch name {
	case system.NameKwps:
		ko := system.KwpsOptions{Bin: r.cfg.KwpsBin, Manifests: o.manifests, CPU: r.cfg.ServerCPU, LogDir: logDir}
		if o.redis != nil {
			ko.RedisURL = o.redis.URL()
		}
		return system.StartKwps(ctx, ko, nodes)
	case system.NamePeer:
		po := system.PeerOptions{Bin: r.cfg.PeerBin, CPU: r.cfg.ServerCPU, LogDir: logDir}
		if o.redis != nil {
			po.RedisAddr = o.redis.Addr()
		}
		return system.StartPeer(ctx, po, nodes)
	case system.NameBare:
		if nodes != 1 {
			return nil, fmt.Errorf("the bare server does not scale out")
		}
		return system.StartBare(ctx, system.BareOptions{Argv: r.cfg.BareArgv, CPU: r.cfg.ServerCPU, LogDir: logDir})
	}
	return nil, fmt.Errorf("unknown system %q", name)
}

// with starts name, runs fn against it and stops it. An error (from the start or from fn) becomes a
// row of scenario that says why.
func (r *runner) with(ctx context.Context, scenario, name, label string, o startOpts, fn func(system.System) error) {
	r.logf("  %s: %s", scenario, name)
	sys, err := r.start(ctx, name, label, o)
	if err == nil {
		err = fn(sys)
		for _, p := range sys.Processes() {
			if !p.Alive() {
				err = fmt.Errorf("%s exited during the run (%w); log: %s", p.Name(), err, lastLine(p.LogTail(1024)))
			}
		}
		sys.Stop()
	}
	if err != nil && ctx.Err() == nil {
		r.logf("    error: %v", err)
		r.table.Fail(scenario, name, "-", "error: "+lastLine(err.Error()))
	}
}

// lastLine shortens a multi-line error to fit a table cell.
func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return strings.ReplaceAll(s, "\n", " / ")
}

// open dials n clients of sys: member(i) gives the node and membership of client i, and onFrame gets
// every client's frames (nil: the clients never read).
func (r *runner) open(ctx context.Context, sys system.System, n int, member func(i int) (int, system.Member), onFrame func([]byte)) (*wsclient.Pool, error) {
	return wsclient.Open(ctx, n, r.prof.DialParallel, func(ctx context.Context, i int) (*wsclient.Conn, error) {
		node, m := member(i)
		return sys.Dial(ctx, node, m, onFrame)
	})
}

// payload is a message payload of size bytes.
func payload(size int) []byte {
	p, err := latency.Payload(size)
	if err != nil {
		panic(err) // sizes are checked when the configuration is built
	}
	return p
}

// addSearch adds the rows of a stepped run: the maximum throughput, its p99, and the knee.
func (r *runner) addSearch(scenario, name, what string, unit report.Unit, perUnit float64, sr searchResult, note string) {
	if sr.max == nil {
		why := "no rate kept p99 under 1 s"
		if len(sr.steps) > 0 {
			why += " (first step: " + sr.steps[0].String() + ")"
		}
		r.table.Fail(scenario, name, "max "+what+" (p99 < 1 s)", why)
		return
	}
	r.table.Add(scenario, name, "max "+what+" (p99 < 1 s)", sr.max.outRate, unit, perUnit, note)
	r.table.Add(scenario, name, "p99 at max", ms(sr.max.p99), report.Millis, 0, "")
	if sr.knee == nil {
		r.table.Fail(scenario, name, "knee "+what+" (p99 < 50 ms)", "no rate kept p99 under 50 ms")
		return
	}
	r.table.Add(scenario, name, "knee "+what+" (p99 < 50 ms)", sr.knee.outRate, unit, perUnit, "")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
