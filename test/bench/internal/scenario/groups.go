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

// restParallel is how many REST sends may be in flight, as an app server's connection pool.
const restParallel = 16

// groupSpec is a group-broadcast run: S3, S4 and S5 differ only in these.
type groupSpec struct {
	scenario string
	topo     Topology
	// nodes spreads members (member i on node i%nodes) and senders over processes.
	nodes int
	// senders is how many dedicated sender clients (not members) publish, sender s to group s%Groups
	// from node s%nodes; zero makes the members themselves the senders.
	senders int
	size    int
	start   float64
	perUnit float64
	// restScenario, when set, also runs the same groups through kwps's REST API under that name.
	restScenario string
	// profile names kwps's CPU profiles.
	profile string
}

// groupRun opens the members (and senders), steps the rate of group messages, and adds the rows.
func (r *runner) groupRun(ctx context.Context, sys system.System, sp groupSpec) error {
	rec := latency.NewRecorder()
	topo, nodes := sp.topo, max(sp.nodes, 1)
	group := func(g int) string { return "g" + strconv.Itoa(g) }
	members, err := r.open(ctx, sys, topo.Members(), func(i int) (int, system.Member) {
		return i % nodes, system.Member{User: "u" + strconv.Itoa(i), Groups: []string{group(i / topo.Size)}}
	}, rec.Observe)
	if err != nil {
		return err
	}
	defer members.Close()
	p := payload(sp.size)
	heal := members.Heal

	// Slot s is one sender publishing to one group; slots go round the groups first, so that
	// consecutive sends hit different groups.
	var conn func(s int) *wsclient.Conn
	var frames []*wsclient.Template
	slots := sp.senders
	if sp.senders > 0 {
		senders, err := r.open(ctx, sys, sp.senders, func(s int) (int, system.Member) {
			return s % nodes, system.Member{User: "sender" + strconv.Itoa(s)}
		}, discard)
		if err != nil {
			return err
		}
		defer senders.Close()
		heal = healAll(members, senders)
		conn = senders.Conn
		for s := range sp.senders {
			frames = append(frames, sys.Publish(group(s%topo.Groups), p))
		}
	} else {
		slots = topo.Members()
		member := func(s int) int { return (s%topo.Groups)*topo.Size + (s/topo.Groups)%topo.Size }
		conn = func(s int) *wsclient.Conn { return members.Conn(member(s)) }
		for s := range slots {
			frames = append(frames, sys.Publish(group(member(s)/topo.Size), p))
		}
	}
	l := &load{
		fanout: topo.Size, slots: slots, workers: 4, rec: rec, heal: heal,
		send: func(_ context.Context, step uint32, s int) error { return conn(s).Send(frames[s], step) },
	}
	sr := r.st.search(ctx, l, sp.start, r.prof.Limit)
	r.addSearch(sp.scenario, sys.Name(), "out msg/s", report.MsgPerSec, sp.perUnit, sr, "")
	r.profileAt(ctx, sys, sp.profile+"-sendToGroup", l, sr)

	k, ok := sys.(*system.Kwps)
	if !ok || sp.restScenario == "" {
		return nil
	}
	rest := make([]*system.RESTSender, topo.Groups)
	for g := range rest {
		if rest[g], err = k.RESTGroup(g%nodes, group(g), p, restParallel); err != nil {
			return err
		}
		defer rest[g].Close()
	}
	l.slots, l.workers = topo.Groups, restParallel
	l.send = func(ctx context.Context, step uint32, g int) error { return rest[g].Send(ctx, step) }
	sr = r.st.search(ctx, l, sp.start, r.prof.Limit)
	r.addSearch(sp.restScenario, sys.Name(), "out msg/s", report.MsgPerSec, sp.perUnit, sr, "")
	r.profileAt(ctx, sys, sp.profile+"-rest", l, sr)
	return nil
}

// bigGroups is S3: broadcast to big groups, for each topology of Profile.Big. One sender client per
// group (not a member) publishes to it; on kwps the same groups are also sent to with the REST API.
func (r *runner) bigGroups(ctx context.Context) {
	for _, topo := range r.prof.Big {
		sp := groupSpec{
			scenario:     fmt.Sprintf("S3 big group %s, sendToGroup", topo),
			restScenario: fmt.Sprintf("S3 big group %s, REST", topo),
			topo:         topo, senders: topo.Groups, size: r.cfg.Size,
			start: r.prof.BigStart, perUnit: unitBigGroupOut,
			profile: fmt.Sprintf("s3-%dx%d", topo.Groups, topo.Size),
		}
		r.logf("S3 big group %s", topo)
		for _, name := range r.systems(system.NameKwps, system.NamePeer, system.NameBare) {
			r.with(ctx, sp.scenario, name, sp.profile, startOpts{}, func(sys system.System) error {
				return r.groupRun(ctx, sys, sp)
			})
		}
	}
	r.note(fmt.Sprintf("S3 REST: kwps only (POST /api/hubs/{hub}/groups/{group}/:send, %d requests in flight); the peer has no server API in this build, the bare server none at all.", restParallel))
}

// smallGroups is S4: many small groups whose members send to their own group, with Size and SmallSize
// messages.
func (r *runner) smallGroups(ctx context.Context) {
	topo := r.prof.Small
	for _, size := range []int{r.cfg.Size, r.cfg.SmallSize} {
		sp := groupSpec{
			scenario: fmt.Sprintf("S4 small groups %s, %s B", topo, commas(size)),
			topo:     topo, size: size, start: r.prof.SmallStart, perUnit: unitSmallOut,
			profile: fmt.Sprintf("s4-%dB", size),
		}
		r.logf("%s", sp.scenario)
		for _, name := range r.systems(system.NameKwps, system.NamePeer, system.NameBare) {
			r.with(ctx, sp.scenario, name, sp.profile, startOpts{}, func(sys system.System) error {
				return r.groupRun(ctx, sys, sp)
			})
		}
	}
}

// cluster is S5: Profile.ClusterNodes processes on one Redis act as one service: a big group and small
// groups whose members are spread over the processes, so that most deliveries cross Redis.
func (r *runner) cluster(ctx context.Context) {
	n := r.prof.ClusterNodes
	if !r.cfg.Redis {
		r.note("S5 skipped: redis-server is not installed (make test-deps installs it).")
		return
	}
	specs := []groupSpec{{
		scenario: fmt.Sprintf("S5 %d processes on Redis, big group %s", n, r.prof.ClusterBig),
		topo:     r.prof.ClusterBig, nodes: n, senders: n, size: r.cfg.Size,
		start: r.prof.ClusterBigStart, perUnit: unitBigGroupOut, profile: "s5-big",
	}, {
		scenario: fmt.Sprintf("S5 %d processes on Redis, small groups %s", n, r.prof.ClusterSmall),
		topo:     r.prof.ClusterSmall, nodes: n, size: r.cfg.Size,
		start: r.prof.ClusterSmallStart, perUnit: unitSmallOut, profile: "s5-small",
	}}
	for _, sp := range specs {
		r.logf("%s", sp.scenario)
		for _, name := range r.systems(system.NameKwps, system.NamePeer) {
			redis, err := system.StartRedis(ctx, r.cfg.ServerCPU, r.cfg.WorkDir, r.cfg.WorkDir)
			if err != nil {
				r.table.Fail(sp.scenario, name, "-", "error: "+lastLine(err.Error()))
				continue
			}
			r.with(ctx, sp.scenario, name, sp.profile, startOpts{nodes: n, redis: redis}, func(sys system.System) error {
				return r.groupRun(ctx, sys, sp)
			})
			redis.Stop()
		}
	}
	r.note("S5: the bare server has no scale-out; Redis runs on the server CPU with the processes.")
}

// healAll reopens the dropped connections of every pool.
func healAll(pools ...*wsclient.Pool) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		total := 0
		for _, p := range pools {
			n, err := p.Heal(ctx)
			total += n
			if err != nil {
				return total, err
			}
		}
		return total, nil
	}
}
