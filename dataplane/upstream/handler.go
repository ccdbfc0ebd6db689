package upstream

import "github.com/kwps/kwps/dataplane/hubconfig"

// FindHandler returns the event handler of hub that receives event, or nil when none does. Handlers are
// tried in their configured order and the first whose filter matches wins (PROTOCOL.md §7). system
// selects the systemEvents filter (connect, connected, disconnected); otherwise event is a user event
// name matched against userEventPattern (raw WebSocket frames are the user event "message").
func FindHandler(hub *hubconfig.Hub, event string, system bool) *hubconfig.EventHandler {
	if hub == nil {
		return nil
	}
	for i := range hub.EventHandlers {
		eh := &hub.EventHandlers[i]
		if system && eh.HasSystemEvent(event) || !system && hubconfig.MatchUserEvent(eh.UserEventPattern, event) {
			return eh
		}
	}
	return nil
}
