package gateway

import (
	"time"

	"github.com/gobwas/ws"

	"github.com/kwps/kwps/dataplane/protocol"
)

// msgID identifies a message across processes, so that a reliable session moving from one process to
// another receives each message once.
type msgID struct{ origin, n uint64 }

// post is one message being sent: what, under which ID, narrowed by which options, valid until when
// (unix nanoseconds; 0 never).
type post struct {
	msg     *protocol.Message
	id      msgID
	opts    *SendOptions
	expires int64
}

// newPost stamps a message sent from this process with a new ID and its expiry.
func (g *Gateway) newPost(m *protocol.Message, o *SendOptions) *post {
	p := &post{msg: m, id: msgID{g.origin, g.msgSeq.Add(1)}, opts: o}
	if o.TTL > 0 {
		p.expires = time.Now().Add(o.TTL).UnixNano()
	}
	return p
}

// delivery is one message on its way to local recipients. Each protocol's encoding is made once, on
// first need, and shared by every recipient of that protocol. A delivery is used by one goroutine.
type delivery struct {
	*post
	frames  [protocol.NumKinds][]byte // complete frames (non-reliable kinds) or bodies (reliable kinds)
	exclude recipients
}

func newDelivery(p *post) *delivery {
	return &delivery{post: p, exclude: newRecipients(p.opts)}
}

// encoded returns kind's shared bytes.
func (d *delivery) encoded(kind protocol.Kind) []byte {
	if b := d.frames[kind]; b != nil {
		return b
	}
	var b []byte
	switch {
	case kind == protocol.Raw:
		op := ws.OpBinary
		if d.msg.Type == protocol.Text || d.msg.Type == protocol.JSONData {
			op = ws.OpText
		}
		b = newFrame(op, d.msg.Data)
	case kind.Reliable():
		b = codecs[kind].message(nil, d.msg)
	default:
		body := codecs[kind].message(make([]byte, 0, 64+len(d.msg.Data)*4/3), d.msg)
		b = newFrame(codecs[kind].op, body)
	}
	d.frames[kind] = b
	return b
}

// to queues the message for c unless c is excluded.
func (d *delivery) to(c *Conn) {
	if !d.exclude.allows(c) {
		return
	}
	if c.kind.Reliable() {
		c.sendSequenced(d.encoded(c.kind), d.expires, d.id)
		return
	}
	c.send(outFrame{head: d.encoded(c.kind), expires: d.expires})
}

// toAll queues the message for every connection in conns.
func (d *delivery) toAll(conns []*Conn) {
	for _, c := range conns {
		d.to(c)
	}
}

// recipients narrows a send by excluded IDs and a filter.
type recipients struct {
	ids []string
	set map[string]struct{} // ids as a set, when there are many
	f   *SendOptions
}

func newRecipients(o *SendOptions) recipients {
	r := recipients{ids: o.Excluded, f: o}
	if len(o.Excluded) > 8 {
		r.set = make(map[string]struct{}, len(o.Excluded))
		for _, id := range o.Excluded {
			r.set[id] = struct{}{}
		}
		r.ids = nil
	}
	return r
}

func (r *recipients) allows(c *Conn) bool {
	if _, ok := r.set[c.id]; ok {
		return false
	}
	for _, id := range r.ids {
		if id == c.id {
			return false
		}
	}
	return r.f.Filter == nil || r.f.Filter.Match(c)
}
