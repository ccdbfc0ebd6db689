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

// echo is S2: every client sends messages that come back to it alone. Through an upstream (kwps: a
// user event that the event handler answers with the same body; the bare server echoes directly, the
// floor of any echo), and through a group of one (each client alone in its group, sending to it).
func (r *runner) echo(ctx context.Context) {
	n := r.prof.EchoClients
	scenario := fmt.Sprintf("S2 echo via upstream, %s clients", commas(n))
	r.logf("%s", scenario)
	for _, name := range r.systems(system.NameKwps, system.NameBare) {
		o := startOpts{}
		if name == system.NameKwps {
			up, err := startUpstream(ctx)
			if err != nil {
				r.table.Fail(scenario, name, "-", "error: "+err.Error())
				continue
			}
			defer up.close()
			m, err := up.manifest(r.cfg.WorkDir)
			if err != nil {
				r.table.Fail(scenario, name, "-", "error: "+err.Error())
				continue
			}
			o.manifests = []string{m}
		}
		r.with(ctx, scenario, name, "s2-upstream", o, func(sys system.System) error {
			return r.echoRun(ctx, scenario, sys, n, true)
		})
	}
	r.note("S2 echo via upstream: the peer has no event handler; the bare server echoes without an upstream (the floor of any echo); the upstream is an HTTP server in the load process.")

	scenario = fmt.Sprintf("S2 echo via group of one, %s clients", commas(n))
	r.logf("%s", scenario)
	for _, name := range r.systems(system.NameKwps, system.NamePeer, system.NameBare) {
		r.with(ctx, scenario, name, "s2-group", startOpts{}, func(sys system.System) error {
			return r.echoRun(ctx, scenario, sys, n, false)
		})
	}
}

func (r *runner) echoRun(ctx context.Context, scenario string, sys system.System, n int, viaUpstream bool) error {
	rec := latency.NewRecorder()
	group := func(i int) string { return "e" + strconv.Itoa(i) }
	pool, err := r.open(ctx, sys, n, func(i int) (int, system.Member) {
		if viaUpstream {
			return 0, system.Member{User: "u" + strconv.Itoa(i)}
		}
		return 0, system.Member{User: "u" + strconv.Itoa(i), Groups: []string{group(i)}}
	}, rec.Observe)
	if err != nil {
		return err
	}
	defer pool.Close()
	p := payload(r.cfg.Size)
	frames := make([]*wsclient.Template, n)
	for i := range frames {
		switch {
		case !viaUpstream:
			frames[i] = sys.Publish(group(i), p)
		case sys.Name() == system.NameKwps:
			frames[i] = sys.(*system.Kwps).Event("echo", p)
		default:
			frames[i] = sys.(*system.Bare).Echo(p)
		}
	}
	l := &load{
		fanout: 1, slots: n, workers: 4, rec: rec, heal: pool.Heal,
		send: func(_ context.Context, step uint32, i int) error { return pool.Conn(i).Send(frames[i], step) },
	}
	sr := r.st.search(ctx, l, r.prof.EchoStart, r.prof.Limit)
	note := ""
	if viaUpstream && sys.Name() == system.NameBare {
		note = "direct echo, no upstream"
	}
	r.addSearch(scenario, sys.Name(), "echo msg/s", report.MsgPerSec, unitEcho, sr, note)
	label := "s2-group"
	if viaUpstream {
		label = "s2-upstream"
	}
	r.profileAt(ctx, sys, label, l, sr)
	return nil
}
