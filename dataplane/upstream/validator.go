package upstream

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/kwps/kwps/dataplane/hubconfig"
)

// Defaults of ValidatorOptions (PROTOCOL.md §8, EMU's cache policy).
const (
	DefaultValidateMinBackoff = time.Second
	DefaultValidateMaxBackoff = time.Minute
	DefaultValidateRefresh    = time.Minute
)

// ValidatorOptions configure a Validator. Every field has a default except Origin.
type ValidatorOptions struct {
	// HTTPClient sends the checks; nil uses NewHTTPClient().
	HTTPClient *http.Client
	// Origin returns the WebHook-Request-Origin value (see Origin).
	Origin func() string
	// Secrets resolves CodeSecretRef; nil fails handlers that have one.
	Secrets SecretResolver
	// Report is called when a hub's result is first known after Set and whenever its readiness or
	// message changes. It runs on Run's goroutine and must not block; it may call Set.
	Report func(ValidationResult)
	// MinBackoff is the first retry delay of a failing URL; it doubles up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Refresh is how often a URL that passed is checked again.
	Refresh time.Duration
	// Logger receives readiness changes; nil discards.
	Logger *slog.Logger
}

// ValidationResult is the readiness of one hub's event handlers.
type ValidationResult struct {
	// Hub is the configuration that was validated, as given to Set (its Ready field is not updated).
	Hub *hubconfig.Hub
	// Ready is true when every distinct handler URL of the hub passed its latest check.
	Ready bool
	// Message says why the hub is not ready; it names URLs redacted and never holds a secret.
	Message string
	// Pending is true while some URL has not been checked yet and none failed.
	Pending bool
}

// Validator keeps the event handlers of a set of hubs validated, for `kwps serve`: each distinct URL of
// a hub is checked once when it appears, retried with backoff while it fails, and checked again every
// Refresh while it passes; a hub is ready when all its URLs passed. Results go to Report. Set, Remove
// and Result may be called from any goroutine; Run does the work.
type Validator struct {
	o       ValidatorOptions
	ownHTTP bool
	log     *slog.Logger
	wake    chan struct{}
	results chan checkResult

	mu   sync.Mutex
	hubs map[string]*hubState // guarded by mu
}

// hubState is guarded by Validator.mu.
type hubState struct {
	hub      *hubconfig.Hub
	targets  []*target
	reported bool // a Report was made for hub
	ready    bool
	message  string
}

// target is one distinct validation URL of a hub; guarded by Validator.mu.
type target struct {
	key     string
	handler hubconfig.EventHandler
	checked bool
	err     error
	running bool
	next    time.Time
	backoff time.Duration
}

type checkResult struct {
	t   *target
	err error
}

// NewValidator returns a Validator; call Run to start it.
func NewValidator(o ValidatorOptions) *Validator {
	ownHTTP := o.HTTPClient == nil
	if ownHTTP {
		o.HTTPClient = NewHTTPClient()
	}
	if o.Origin == nil {
		o.Origin = func() string { return "" }
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultValidateMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultValidateMaxBackoff, o.MinBackoff)
	}
	if o.Refresh <= 0 {
		o.Refresh = DefaultValidateRefresh
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Validator{
		o:       o,
		ownHTTP: ownHTTP,
		log:     log,
		wake:    make(chan struct{}, 1),
		results: make(chan checkResult),
		hubs:    make(map[string]*hubState),
	}
}

// Set starts validating hub's handlers, replacing its previous configuration. URLs that did not change
// keep their results; new ones are checked at once. A Report follows for this configuration.
func (v *Validator) Set(hub *hubconfig.Hub) {
	v.mu.Lock()
	name := hubconfig.CanonicalHub(hub.Name)
	old := v.hubs[name]
	st := &hubState{hub: hub}
	seen := make(map[string]bool, len(hub.EventHandlers))
	for _, eh := range hub.EventHandlers {
		key := targetKey(name, &eh)
		if seen[key] {
			continue
		}
		seen[key] = true
		t := old.find(key)
		if t == nil {
			t = &target{key: key, handler: eh, backoff: v.o.MinBackoff}
		}
		st.targets = append(st.targets, t)
	}
	if old != nil {
		st.ready, st.message = old.ready, old.message
	}
	v.hubs[name] = st
	v.mu.Unlock()
	v.nudge()
}

// Remove stops validating a hub.
func (v *Validator) Remove(hub string) {
	v.mu.Lock()
	delete(v.hubs, hubconfig.CanonicalHub(hub))
	v.mu.Unlock()
	v.nudge()
}

// Result returns the latest result of a hub, and false when the hub is unknown or not yet evaluated.
func (v *Validator) Result(hub string) (ValidationResult, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	st, ok := v.hubs[hubconfig.CanonicalHub(hub)]
	if !ok || !st.reported {
		return ValidationResult{}, false
	}
	return ValidationResult{Hub: st.hub, Ready: st.ready, Message: st.message}, true
}

// Run validates until ctx ends, then waits for its checks to stop and returns nil. Call it once.
func (v *Validator) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		if v.ownHTTP {
			v.o.HTTPClient.CloseIdleConnections()
		}
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		reports, wait := v.step(ctx, &wg)
		for _, r := range reports {
			switch {
			case r.Ready:
				v.log.Info("event handlers validated", "hub", r.Hub.Name)
			case r.Pending:
			default:
				v.log.Warn("event handlers not validated", "hub", r.Hub.Name, "message", r.Message)
			}
			if v.o.Report != nil {
				v.o.Report(r)
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-v.wake:
		case <-timer.C:
		case r := <-v.results:
			v.apply(r)
		}
	}
}

// step starts the checks that are due and returns the reports to make and how long to sleep.
func (v *Validator) step(ctx context.Context, wg *sync.WaitGroup) ([]ValidationResult, time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := time.Now()
	wait := time.Hour
	var reports []ValidationResult
	for _, st := range v.hubs {
		for _, t := range st.targets {
			if t.running {
				continue
			}
			if d := t.next.Sub(now); d > 0 {
				wait = min(wait, d)
				continue
			}
			t.running = true
			wg.Add(1)
			go v.check(ctx, wg, st.hub.Name, t)
		}
		ready, pending, message := st.evaluate()
		if !st.reported || ready != st.ready || message != st.message {
			st.reported, st.ready, st.message = true, ready, message
			reports = append(reports, ValidationResult{Hub: st.hub, Ready: ready, Message: message, Pending: pending})
		}
	}
	return reports, wait
}

// check runs one validation; t.handler is not modified while t.running, so it is read without the lock.
func (v *Validator) check(ctx context.Context, wg *sync.WaitGroup, hub string, t *target) {
	defer wg.Done()
	err := ValidateHandler(ctx, v.o.HTTPClient, hub, &t.handler, v.o.Origin(), v.o.Secrets)
	select {
	case v.results <- checkResult{t: t, err: err}:
	case <-ctx.Done():
	}
}

// apply records a check's outcome and schedules the next one.
func (v *Validator) apply(r checkResult) {
	v.mu.Lock()
	defer v.mu.Unlock()
	t, now := r.t, time.Now()
	t.running, t.checked, t.err = false, true, r.err
	if r.err == nil {
		t.next, t.backoff = now.Add(v.o.Refresh), v.o.MinBackoff
		return
	}
	t.next, t.backoff = now.Add(t.backoff), min(2*t.backoff, v.o.MaxBackoff)
}

func (v *Validator) nudge() {
	select {
	case v.wake <- struct{}{}:
	default:
	}
}

// evaluate derives a hub's readiness from its targets' latest results.
func (st *hubState) evaluate() (ready, pending bool, message string) {
	var first error
	failing, unchecked := 0, 0
	for _, t := range st.targets {
		switch {
		case !t.checked:
			unchecked++
		case t.err != nil:
			if first == nil {
				first = t.err
			}
			failing++
		}
	}
	switch {
	case failing == 1:
		return false, false, first.Error()
	case failing > 1:
		return false, false, first.Error() + " (and " + strconv.Itoa(failing-1) + " more failing event handler URLs)"
	case unchecked > 0:
		return false, true, "validating event handler URLs"
	}
	return true, false, ""
}

// find returns the target with key, or nil; st may be nil.
func (st *hubState) find(key string) *target {
	if st == nil {
		return nil
	}
	for _, t := range st.targets {
		if t.key == key {
			return t
		}
	}
	return nil
}

// targetKey identifies what a check depends on: the URL and where its code comes from.
func targetKey(hub string, eh *hubconfig.EventHandler) string {
	key := ExpandURL(eh.URLTemplate, hub, validateEvent)
	if r := eh.CodeSecretRef; r != nil {
		key += "\x00" + r.Name + "\x00" + r.Key
	}
	return key
}
