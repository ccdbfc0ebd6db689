package scenario

import (
	"fmt"
	"time"
)

// Topology is a number of groups of the same size.
type Topology struct{ Groups, Size int }

// String is "10 x 1,000" style.
func (t Topology) String() string { return commas(t.Groups) + " x " + commas(t.Size) }

// Members is the number of connections in the groups.
func (t Topology) Members() int { return t.Groups * t.Size }

func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Profile sizes a suite run: the full benchmark or a seconds-long smoke of every scenario.
type Profile struct {
	Name string

	// S1: idle connections held, and how long the server sits before and after they open, before its
	// memory is read.
	Idle       int
	IdleSettle time.Duration
	// S2: echoing clients and the first echo rate (msg/s).
	EchoClients int
	EchoStart   float64
	// S3: big-group topologies and the first outbound rate.
	Big      []Topology
	BigStart float64
	// S4: small groups and the first outbound rate.
	Small      Topology
	SmallStart float64
	// S5: nodes on Redis, a big group and small groups spread over them, their first outbound rates.
	ClusterNodes                       int
	ClusterBig, ClusterSmall           Topology
	ClusterBigStart, ClusterSmallStart float64
	// S6: a group with stalled members, its outbound rate and how long it runs, and how long the
	// stalled members then read to learn whether the server disconnected them (their backlog is at most
	// the socket buffers, read in milliseconds); connect churn's first rate (connections/s) and how many
	// connects may be in flight.
	SlowGroup, SlowStalled int
	SlowRate               float64
	SlowWindow, ResumeWait time.Duration
	ChurnStart             float64
	ChurnWorkers           int

	// Stepping: each step offers its rate for Window, waits up to Drain for late deliveries and up to
	// Settle for quiet; rates grow by Factor for at most Sweep steps up to Limit, then Bisect rounds
	// refine both bounds.
	Window, Drain, Settle time.Duration
	Factor                float64
	Sweep, Bisect         int
	Limit                 float64

	// DialParallel bounds connects in flight while opening clients.
	DialParallel int
	// ProfileWindow is how long kwps is profiled at its maximum rate (with ProfileDir).
	ProfileWindow time.Duration
}

// Full is the benchmark: `make bench`.
func Full() Profile {
	return Profile{
		Name: "full",
		Idle: 15000, IdleSettle: 2 * time.Second,
		EchoClients: 1000, EchoStart: 1000,
		Big:      []Topology{{10, 1000}, {1, 10000}},
		BigStart: 10000,
		Small:    Topology{1000, 10}, SmallStart: 4000,
		ClusterNodes: 3, ClusterBig: Topology{1, 3000}, ClusterSmall: Topology{300, 10},
		ClusterBigStart: 6000, ClusterSmallStart: 2000,
		SlowGroup: 50, SlowStalled: 5, SlowRate: 20000, SlowWindow: 12 * time.Second, ResumeWait: 2 * time.Second,
		ChurnStart: 250, ChurnWorkers: 64,
		Window: time.Second, Drain: 1500 * time.Millisecond, Settle: 3 * time.Second,
		Factor: 2, Sweep: 10, Bisect: 1, Limit: 2_000_000,
		DialParallel:  64,
		ProfileWindow: 5 * time.Second,
	}
}

// Smoke runs every scenario tiny, in seconds: it proves the tool works, not how fast anything is.
func Smoke() Profile {
	return Profile{
		Name: "smoke",
		Idle: 200, IdleSettle: 200 * time.Millisecond,
		EchoClients: 20, EchoStart: 100,
		Big:      []Topology{{2, 50}, {1, 100}},
		BigStart: 1000,
		Small:    Topology{20, 5}, SmallStart: 200,
		ClusterNodes: 3, ClusterBig: Topology{1, 60}, ClusterSmall: Topology{12, 5},
		ClusterBigStart: 600, ClusterSmallStart: 200,
		SlowGroup: 20, SlowStalled: 2, SlowRate: 1000, SlowWindow: 300 * time.Millisecond, ResumeWait: 200 * time.Millisecond,
		ChurnStart: 50, ChurnWorkers: 8,
		Window: 100 * time.Millisecond, Drain: 500 * time.Millisecond, Settle: 150 * time.Millisecond,
		Factor: 2, Sweep: 1, Bisect: 0, Limit: 1_000_000,
		DialParallel:  16,
		ProfileWindow: time.Second,
	}
}
