package backplane

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// health combines the two signals of a working Redis: the pub/sub connection reads (set by the read
// loop) and PING answers on the command connections (set by the health check). The backplane is up
// while both hold; each transition is logged once.
type health struct {
	pubsub, command atomic.Bool // each has a single writer
	up              atomic.Bool
	reconnects      atomic.Uint64

	mu      sync.Mutex // orders transitions; guards the fields below
	everUp  bool
	lastErr error
	ready   chan struct{} // closed when first up
	log     *slog.Logger
	ghosts  []int64 // Redis client IDs of replaced pub/sub connections, to kill on the server
}

// maxGhosts bounds the replaced connections remembered for killing; more would mean Redis was
// unreachable through many replacements, and it then drops them itself through TCP keepalive.
const maxGhosts = 8

func (h *health) addGhost(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if id != 0 && len(h.ghosts) < maxGhosts && !slices.Contains(h.ghosts, id) {
		h.ghosts = append(h.ghosts, id)
	}
}

func (h *health) init(log *slog.Logger) {
	h.ready = make(chan struct{})
	h.log = log
}

// set records one signal; err says why it failed. It is cheap when nothing changes, as on every
// message the read loop receives.
func (h *health) set(signal *atomic.Bool, ok bool, err error) {
	if signal.Load() == ok {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	signal.Store(ok)
	if err != nil {
		h.lastErr = err
	}
	up := h.pubsub.Load() && h.command.Load()
	if up == h.up.Load() {
		return
	}
	h.up.Store(up)
	switch {
	case up && !h.everUp:
		h.everUp = true
		close(h.ready)
		h.log.Info("backplane connected")
	case up:
		h.reconnects.Add(1)
		h.log.Info("backplane reconnected")
	default:
		h.log.Warn("backplane lost its connection to redis; reconnecting", "error", h.lastErr)
	}
}

func (h *health) lastError() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastErr
}

// healthLoop pings Redis every PingInterval: a PING on the command connections decides their half
// of the health, and a PING on the pub/sub connection gives the read loop something to read, so
// that a silent connection shows as dead within three intervals.
func (r *Redis) healthLoop() {
	defer r.wg.Done()
	interval := r.opts.PingInterval
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(r.ctx, interval)
		err := r.client.Ping(ctx).Err()
		cancel()
		if r.closed.Load() {
			return
		}
		r.health.set(&r.health.command, err == nil, err)
		if err == nil {
			r.killGhosts()
		}
		if r.health.pubsub.Load() {
			_ = r.ps.Load().Ping(r.ctx)
		}
		select {
		case <-r.done:
			return
		case <-t.C:
		}
	}
}

// killGhosts ends replaced pub/sub connections that Redis still holds. A connection Redis no longer
// knows (it noticed the close) is done with as well.
func (r *Redis) killGhosts() {
	r.health.mu.Lock()
	ghosts := slices.Clone(r.health.ghosts)
	r.health.mu.Unlock()
	for _, id := range ghosts {
		ctx, cancel := context.WithTimeout(r.ctx, r.opts.PingInterval)
		_, err := r.client.ClientKillByFilter(ctx, "ID", strconv.FormatInt(id, 10)).Result()
		cancel()
		if err == nil || strings.Contains(err.Error(), "No such client") {
			r.health.mu.Lock()
			r.health.ghosts = slices.DeleteFunc(r.health.ghosts, func(g int64) bool { return g == id })
			r.health.mu.Unlock()
		}
	}
}
