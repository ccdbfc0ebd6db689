package scenario

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/kwps/kwps/test/bench/internal/report"
	"github.com/kwps/kwps/test/bench/internal/system"
	"github.com/kwps/kwps/test/bench/internal/wsclient"
)

// idle is S1: idle density. It opens Profile.Idle connections (each with its own user ID on kwps) with
// keepalive on, and reports the connect rate and the server's resident memory (and, for kwps, Go heap)
// per connection: the difference between before and after, divided by the connections.
func (r *runner) idle(ctx context.Context) {
	n := r.prof.Idle
	scenario := fmt.Sprintf("S1 idle, %s connections", commas(n))
	r.logf("%s", scenario)
	for _, name := range r.systems(system.NameKwps, system.NamePeer, system.NameBare) {
		r.with(ctx, scenario, name, "s1", startOpts{}, func(sys system.System) error {
			return r.idleRun(ctx, scenario, sys, n)
		})
	}
}

func (r *runner) idleRun(ctx context.Context, scenario string, sys system.System, n int) error {
	proc := sys.Processes()[0]
	dial := func(ctx context.Context, i int) (*wsclient.Conn, error) {
		return sys.Dial(ctx, 0, system.Member{User: "u" + strconv.Itoa(i)}, discard)
	}
	k, isKwps := sys.(*system.Kwps)
	if isKwps {
		// Tokens are signed before the clock starts: an app server signs them, not the service.
		tokens := make([]string, n)
		for i := range tokens {
			t, err := k.Token(0, system.Member{User: "u" + strconv.Itoa(i)})
			if err != nil {
				return err
			}
			tokens[i] = t
		}
		dial = func(ctx context.Context, i int) (*wsclient.Conn, error) {
			return k.DialToken(ctx, 0, tokens[i], discard)
		}
	}
	if err := sleep(ctx, r.prof.IdleSettle); err != nil {
		return err
	}
	rssBefore, err := proc.RSS()
	if err != nil {
		return err
	}
	var heapBefore int64
	if isKwps {
		if heapBefore, err = k.HeapInuse(ctx, 0); err != nil {
			return err
		}
	}
	start := time.Now()
	pool, err := wsclient.Open(ctx, n, r.prof.DialParallel, dial)
	if err != nil {
		return err
	}
	defer pool.Close()
	elapsed := time.Since(start)
	if err := sleep(ctx, r.prof.IdleSettle); err != nil {
		return err
	}
	if alive := pool.Alive(); alive < n {
		return fmt.Errorf("%d of %d idle connections dropped", n-alive, n)
	}
	rssAfter, err := proc.RSS()
	if err != nil {
		return err
	}
	name := sys.Name()
	r.table.Add(scenario, name, "connections held", float64(n), report.Count, unitConnections, "")
	r.table.Add(scenario, name, "connect rate", float64(n)/elapsed.Seconds(), report.ConnPerSec, 0, "")
	r.table.Add(scenario, name, "RSS per connection", float64(rssAfter-rssBefore)/float64(n), report.Bytes, 0,
		fmt.Sprintf("RSS %s -> %s", report.Format(float64(rssBefore), report.Bytes), report.Format(float64(rssAfter), report.Bytes)))
	if isKwps {
		heapAfter, err := k.HeapInuse(ctx, 0)
		if err != nil {
			return err
		}
		r.table.Add(scenario, name, "Go heap in use per connection", float64(heapAfter-heapBefore)/float64(n), report.Bytes, 0, "go_memstats_heap_inuse_bytes")
	}
	r.logf("    %d connections in %s; RSS %d -> %d", n, elapsed.Round(time.Millisecond), rssBefore, rssAfter)
	return nil
}

// discard receives frames nobody measures.
func discard([]byte) {}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
