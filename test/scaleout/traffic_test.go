package scaleout

import (
	"fmt"
	"sync/atomic"
	"time"
)

// publishNumbered sends sendToGroup requests "<prefix><i>" for i = 1, 2, ... every interval, with
// ackIds and noEcho, until stop is closed or a write fails (the error is returned). sent counts what
// was written, so the test can act at a given message. It runs on a goroutine of its own, so it never
// fails the test itself; the acks stay in the inbox for checkAcks.
func (c *client) publishNumbered(group, prefix string, interval time.Duration, stop <-chan struct{}, sent *atomic.Int64) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-t.C:
		}
		n := sent.Load() + 1
		req := map[string]any{"type": "sendToGroup", "group": group, "dataType": "text",
			"data": fmt.Sprintf("%s%d", prefix, n), "noEcho": true, "ackId": c.ackID.Add(1)}
		if err := c.trySendJSON(req); err != nil {
			return err
		}
		sent.Store(n)
	}
}
