package scenario

import (
	"context"
	"fmt"
	"strconv"

	"github.com/kwps/kwps/test/bench/internal/latency"
	"github.com/kwps/kwps/test/bench/internal/report"
	"github.com/kwps/kwps/test/bench/internal/system"
	"github.com/kwps/kwps/test/bench/internal/wsclient"
)

// slowAndChurn is S6: slow consumers among healthy ones, then connect churn.
func (r *runner) slowAndChurn(ctx context.Context) {
	r.slow(ctx)
	r.churn(ctx)
}

// slow runs a group in which some members never read (small receive buffers, so that their backlog
// reaches the server fast) at Profile.SlowRate for Profile.SlowWindow, and reports the healthy
// members' p99, how many stalled members the server disconnected by the end, and how much the
// server's memory grew meanwhile. Each member gets SlowRate/SlowGroup messages a second, enough to
// fill a stalled member's socket buffers (megabytes on loopback) within seconds.
func (r *runner) slow(ctx context.Context) {
	g, stalled := r.prof.SlowGroup, r.prof.SlowStalled
	scenario := fmt.Sprintf("S6 slow consumers, %d of %d members stalled, %s msg/s out", stalled, g, commas(int(r.prof.SlowRate)))
	r.logf("%s", scenario)
	for _, name := range r.systems(system.NameKwps, system.NamePeer, system.NameBare) {
		r.with(ctx, scenario, name, "s6-slow", startOpts{}, func(sys system.System) error {
			return r.slowRun(ctx, scenario, sys)
		})
	}
	r.note("S6 slow consumers: the bare server has no queues; it writes each delivery with a 100 ms deadline and drops a member whose write times out, holding up the rest of that broadcast meanwhile.")
}

func (r *runner) slowRun(ctx context.Context, scenario string, sys system.System) error {
	g, stalledN := r.prof.SlowGroup, r.prof.SlowStalled
	healthyN := g - stalledN
	rec := latency.NewRecorder()
	member := func(i int) (int, system.Member) {
		return 0, system.Member{User: "u" + strconv.Itoa(i), Groups: []string{"slow"}}
	}
	healthy, err := r.open(ctx, sys, healthyN, member, rec.Observe)
	if err != nil {
		return err
	}
	defer healthy.Close()
	sender, err := wsclient.Open(ctx, 1, 1, func(ctx context.Context, _ int) (*wsclient.Conn, error) {
		return sys.Dial(ctx, 0, system.Member{User: "sender"}, discard)
	})
	if err != nil {
		return err
	}
	defer sender.Close()
	frame := sys.Publish("slow", payload(r.cfg.Size))
	l := &load{
		fanout: healthyN, slots: 1, workers: 1, rec: rec, heal: healthy.Heal,
		send: func(_ context.Context, step uint32, _ int) error { return sender.Conn(0).Send(frame, step) },
	}
	inRate := r.prof.SlowRate / float64(g)
	// The same healthy members at the same rate before any stalled member joins: the reference.
	base := r.st.step(ctx, l, inRate*float64(healthyN), r.prof.SlowWindow/3)

	stalled, err := r.open(ctx, sys, stalledN, func(i int) (int, system.Member) { return member(healthyN + i) }, nil)
	if err != nil {
		return err
	}
	defer stalled.Close()
	proc := sys.Processes()[0]
	rssBefore, err := proc.RSS()
	if err != nil {
		return err
	}
	res := r.st.step(ctx, l, inRate*float64(healthyN), r.prof.SlowWindow)
	rssAfter, err := proc.RSS()
	if err != nil {
		return err
	}

	// Read the stalled clients now: those the server disconnected reach the end of their stream.
	for i := range stalledN {
		stalled.Conn(i).Start(discard)
	}
	waitCtx, cancel := context.WithTimeout(ctx, r.prof.ResumeWait)
	defer cancel()
	disconnected := 0
	for i := range stalledN {
		select {
		case <-stalled.Conn(i).Done():
			disconnected++
		case <-waitCtx.Done():
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	name := sys.Name()
	if base.p99ok {
		r.table.Add(scenario, name, "healthy members' p99, none stalled", ms(base.p99), report.Millis, 0,
			"the same members and rate before the stalled ones join")
	} else {
		r.table.Fail(scenario, name, "healthy members' p99, none stalled", "over 1% of deliveries lost: "+base.String())
	}
	if res.p99ok {
		note := fmt.Sprintf("%.1f%% delivered, %d healthy dropped", 100*float64(res.arrived)/float64(max(res.expected, 1)), res.dropped)
		if base.p99ok && base.p99 > 0 {
			note += fmt.Sprintf("; %.2fx the p99 with none stalled", float64(res.p99)/float64(base.p99))
		}
		r.table.Add(scenario, name, "healthy members' p99", ms(res.p99), report.Millis, 0, note)
	} else {
		r.table.Fail(scenario, name, "healthy members' p99", "over 1% of deliveries lost: "+res.String())
	}
	r.table.Add(scenario, name, "stalled members disconnected", float64(disconnected), report.Count, 0,
		fmt.Sprintf("of %d, within %s", stalledN, r.prof.SlowWindow))
	r.table.Add(scenario, name, "server RSS growth", float64(rssAfter-rssBefore), report.Bytes, 0, "what the stalled members' backlog cost")
	return nil
}

// churn steps the rate of connect-then-close cycles (each a new connection that completes its
// protocol's handshake: kwps's "connected" message, Centrifuge's connect reply, the bare upgrade) and
// reports the highest rates whose connect latency p99 stays under 1 s and under 50 ms.
func (r *runner) churn(ctx context.Context) {
	scenario := "S6 connect churn (connect, handshake, close)"
	r.logf("%s", scenario)
	for _, name := range r.systems(system.NameKwps, system.NamePeer, system.NameBare) {
		r.with(ctx, scenario, name, "s6-churn", startOpts{}, func(sys system.System) error {
			dial := func(ctx context.Context) (*wsclient.Conn, error) {
				return sys.Dial(ctx, 0, system.Member{User: "churn"}, discard)
			}
			if k, ok := sys.(*system.Kwps); ok {
				token, err := k.Token(0, system.Member{User: "churn"})
				if err != nil {
					return err
				}
				dial = func(ctx context.Context) (*wsclient.Conn, error) { return k.DialToken(ctx, 0, token, discard) }
			}
			rec := latency.NewRecorder()
			l := &load{
				fanout: 1, slots: 1, workers: r.prof.ChurnWorkers, rec: rec,
				send: func(ctx context.Context, step uint32, _ int) error {
					start := latency.Now()
					c, err := dial(ctx)
					if err != nil {
						return err
					}
					rec.Record(step, start)
					c.Close()
					return nil
				},
			}
			sr := r.st.search(ctx, l, r.prof.ChurnStart, r.prof.Limit)
			r.addSearch(scenario, name, "connects/s", report.ConnPerSec, 0, sr, "")
			return nil
		})
	}
}
