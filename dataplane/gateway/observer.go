package gateway

// Observer receives the gateway's countable events, for metrics. Methods are called on hot paths and
// must not block; a nil Observer in Options ignores everything.
type Observer interface {
	ConnectionOpened(hub, protocol string)
	// ConnectionClosed is called once per connection with Azure's close category.
	ConnectionClosed(hub, protocol, category string)
	// MessagesIn counts client messages received (frames of data, not control).
	MessagesIn(hub string, messages, bytes int)
	// MessagesOut counts frames written to clients.
	MessagesOut(hub string, messages int, bytes int64)
	// SlowConsumer counts connections closed because they could not keep up.
	SlowConsumer(hub string)
}

type metrics struct{ o Observer }

func (m metrics) opened(c *Conn) {
	if m.o != nil {
		m.o.ConnectionOpened(c.hub.name, protocolLabel(c))
	}
}

func (m metrics) closed(c *Conn, category string) {
	if m.o != nil {
		m.o.ConnectionClosed(c.hub.name, protocolLabel(c), category)
	}
}

func (m metrics) received(c *Conn, n int) {
	if m.o != nil {
		m.o.MessagesIn(c.hub.name, 1, n)
	}
}

func (m metrics) written(c *Conn, frames int, n int64) {
	if m.o != nil {
		m.o.MessagesOut(c.hub.name, frames, n)
	}
}

func (m metrics) slowConsumer(c *Conn) {
	if m.o != nil {
		m.o.SlowConsumer(c.hub.name)
	}
}

func protocolLabel(c *Conn) string {
	if name := c.kind.Name(); name != "" {
		return name
	}
	return "raw"
}
