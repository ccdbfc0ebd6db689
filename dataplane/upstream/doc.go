// Package upstream is the client side of Azure Web PubSub's event handlers: it delivers connection and
// user events to an application's webhook as CloudEvents in HTTP binary mode (PROTOCOL.md §6), selects
// the handler of a hub for an event (§7), authenticates to it (§9), and runs the abuse-protection check
// that a handler URL must pass before any event is sent to it (§8).
//
// # Events
//
// A Client sends four kinds of events:
//
//   - connect (Client.Connect): blocking, before the client's WebSocket upgrade completes. A 4xx from
//     the handler comes back as a *StatusError whose code the gateway relays to the client; anything
//     else that fails is a plain error and the gateway rejects the connection.
//   - user events (Client.UserEvent): blocking; the handler's 200 body goes back to the client.
//   - connected and disconnected (Client.Connected, Client.Disconnected): non-blocking and at most once
//     delivered. They are queued per connection and sent in order (a disconnected event never overtakes
//     the connected event of its connection), retried on 408, 5xx and network errors after 1 s, 3 s and
//     5 s, and dropped (and counted) when MaxPendingAsync events are already pending. A slow handler
//     delays only the events of its own connections.
//
// Every event carries the ce-signature of the connection id under each access key, and
// WebHook-Request-Origin set to the public endpoint's host (see Origin). A handler with
// ManagedIdentity auth also gets `Authorization: Bearer` with a token from the TokenSource; a handler
// with a CodeSecretRef gets the resolved secret as its `code` query parameter. URLs are redacted
// (every query value replaced) in every error and log line, so that secret never leaks.
//
// Nothing is sent for a hub whose Ready flag is false: its handlers have not passed validation.
//
// # Validation
//
// Validate and ValidateHandler run the one-shot OPTIONS check (the controller calls them from its
// reconcile and requeues on its own); a Validator keeps every hub of `kwps serve` validated, retrying
// failures with backoff and re-checking successes periodically.
//
// # Concurrency
//
// Client, Validator and the token sources are safe for concurrent use. Connected and Disconnected
// never block. Observer and Report callbacks run on the package's goroutines and must not block.
// Close stops every goroutine a Client started; cancelling the context given to Validator.Run stops
// the Validator's.
package upstream
