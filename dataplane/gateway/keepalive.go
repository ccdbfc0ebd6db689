package gateway

import (
	"time"
)

// keepalive pings every connection at its hub's webSocketKeepAliveIntervalInSeconds and closes those
// whose peer sent nothing (not even a pong) for two intervals plus KeepAliveGrace. One loop serves all
// connections, so a connection costs no timer.
func (g *Gateway) keepalive(now time.Time) {
	nowNano := now.UnixNano()
	var buf, dead, expired []*Conn
	for _, h := range g.hubList() {
		interval := time.Duration(g.opts.Hubs.Get(h.name).KeepAliveSeconds) * time.Second
		deadAfter := (2*interval + g.opts.KeepAliveGrace).Nanoseconds()
		buf = h.conns.each(buf, func(c *Conn) {
			if c.cur.Load() == nil {
				c.handoverExpired(nowNano)
				if c.sessionExpired(nowNano) {
					expired = append(expired, c)
				}
				return
			}
			if nowNano-c.lastRead.Load() > deadAfter && !c.busy.Load() {
				dead = append(dead, c)
				return
			}
			if nowNano >= c.nextPing {
				c.nextPing = nowNano + interval.Nanoseconds()
				c.send(outFrame{head: pingFrame})
			}
		})
	}
	for _, c := range dead {
		if t := c.cur.Load(); t != nil {
			c.drop(t, closePingTimeout) // a reliable client may still recover
		}
	}
	for _, c := range expired {
		c.teardown() // the reliable session was not recovered in time
	}
}
