package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kwps/kwps/api/v1alpha1"
	"github.com/kwps/kwps/dataplane/hubconfig"
	"github.com/kwps/kwps/dataplane/upstream"
)

// Defaults of Schedule.
const (
	DefaultRetryMin = 5 * time.Second
	DefaultRetryMax = 5 * time.Minute
	DefaultRecheck  = 5 * time.Minute
)

// maxFailures bounds the failure count kept in a ConfigMap (the backoff is long capped by then).
const maxFailures = 64

// Schedule says when the event handler URLs of a hub are checked. A zero field takes its default.
type Schedule struct {
	// RetryMin is the delay before a failing check is retried; it doubles with every further failure
	// up to RetryMax.
	RetryMin, RetryMax time.Duration
	// Recheck is how long a passing check holds before it is repeated.
	Recheck time.Duration
}

func (sc Schedule) withDefaults() Schedule {
	if sc.RetryMin <= 0 {
		sc.RetryMin = DefaultRetryMin
	}
	if sc.RetryMax < sc.RetryMin {
		sc.RetryMax = max(DefaultRetryMax, sc.RetryMin)
	}
	if sc.Recheck <= 0 {
		sc.Recheck = DefaultRecheck
	}
	return sc
}

// checkState is the outcome of the latest check of a hub's handlers, as its ConfigMap records it.
type checkState struct {
	// inputs is a digest of what the check depended on (see checkInputs).
	inputs string
	// at is when the check ran; zero when none did.
	at time.Time
	// failures counts the consecutive failed checks of these inputs.
	failures int
	// ready is true when every handler URL passed; message says why not otherwise.
	ready   bool
	message string
}

// hold is how long a check's outcome holds: Recheck when it passed, else the backoff of its failures.
func (sc Schedule) hold(st checkState) time.Duration {
	if st.ready {
		return sc.Recheck
	}
	d := sc.RetryMin
	for i := 1; i < st.failures && d < sc.RetryMax; i++ {
		d *= 2
	}
	return min(d, sc.RetryMax)
}

// due reports whether the handlers must be checked now, given the last check and the current inputs,
// and otherwise how long until they must be.
func (sc Schedule) due(last checkState, inputs string, now time.Time) (bool, time.Duration) {
	if last.at.IsZero() || last.inputs != inputs {
		return true, 0
	}
	next := last.at.Add(sc.hold(last))
	if !now.Before(next) {
		return true, 0
	}
	return false, next.Sub(now)
}

// next is the state after a check of inputs at now, following last.
func (last checkState) next(inputs string, now time.Time, ready bool, message string) checkState {
	st := checkState{inputs: inputs, at: now, ready: ready, message: message}
	if !ready {
		st.failures = 1
		if last.inputs == inputs && !last.ready {
			st.failures = min(last.failures+1, maxFailures)
		}
	}
	return st
}

// checkHandlers runs the abuse-protection check of the hub's event handler URLs when it is due: when
// the URLs, their codes or the origin changed since the last check, when a failing check's backoff
// has passed, or when a passing check is Recheck old. Otherwise the last outcome stands, and the
// reconcile is requeued for when the check is due. A failure is not an error of the reconcile: it is
// reported in the status and an Event, and retried after the backoff.
func (r *Reconciler) checkHandlers(ctx context.Context, s *scope) (ctrl.Result, error) {
	switch {
	case s.secretProblem != "":
		// Nothing to check until the Secret changes, which the Secret watch reports.
		s.check = checkState{message: s.secretProblem}
		return ctrl.Result{}, nil
	case len(s.cfg.EventHandlers) == 0:
		s.check = checkState{ready: true}
		return ctrl.Result{}, nil
	}
	last, err := r.lastCheck(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	sc := r.Schedule.withDefaults()
	inputs := checkInputs(s)
	if due, wait := sc.due(last, inputs, s.now); !due {
		s.check = last
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	ready, message := r.runChecks(ctx, s)
	s.check = last.next(inputs, s.now, ready, message)
	if s.check.ready != last.ready || s.check.message != last.message {
		r.recordOutcome(ctx, s)
	}
	return ctrl.Result{RequeueAfter: sc.hold(s.check)}, nil
}

// checkInputs digests what a check depends on: the hub name, the origin, and each handler's URL
// template and code Secret (by resourceVersion: no secret value goes into the digest).
func checkInputs(s *scope) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", s.cfg.Name, s.origin)
	for _, eh := range s.cfg.EventHandlers {
		fmt.Fprintf(h, "%s\x00", eh.URLTemplate)
		if ref := eh.CodeSecretRef; ref != nil {
			fmt.Fprintf(h, "%s\x00%s\x00%s\x00", ref.Name, ref.Key, s.versions[ref.Name])
		}
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// runChecks checks each distinct handler URL of the hub at once and sums the outcome up.
func (r *Reconciler) runChecks(ctx context.Context, s *scope) (bool, string) {
	type target struct {
		url string
		ref hubconfig.SecretKeyRef
	}
	seen := map[target]bool{}
	var handlers []*hubconfig.EventHandler
	for i := range s.cfg.EventHandlers {
		eh := &s.cfg.EventHandlers[i]
		t := target{url: eh.URLTemplate}
		if eh.CodeSecretRef != nil {
			t.ref = *eh.CodeSecretRef
		}
		if !seen[t] {
			seen[t] = true
			handlers = append(handlers, eh)
		}
	}
	codes := upstream.SecretResolverFunc(func(_ context.Context, ref hubconfig.SecretKeyRef) (string, error) {
		if code, ok := s.codes[ref]; ok {
			return code, nil
		}
		return "", errors.New("not resolved")
	})
	errs := make([]error, len(handlers))
	var wg sync.WaitGroup
	for i, eh := range handlers {
		wg.Go(func() { errs[i] = upstream.ValidateHandler(ctx, r.HTTPClient, s.cfg.Name, eh, s.origin, codes) })
	}
	wg.Wait()
	return summarize(errs)
}

// summarize reports whether every check passed, or the first failure and how many more there are.
// ValidationError messages name URLs redacted and hold no secret.
func summarize(errs []error) (bool, string) {
	var first error
	failing := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		if first == nil {
			first = err
		}
		failing++
	}
	switch failing {
	case 0:
		return true, ""
	case 1:
		return false, first.Error()
	}
	return false, first.Error() + " (and " + strconv.Itoa(failing-1) + " more failing event handler URLs)"
}

// recordOutcome emits an Event for a changed outcome: a Warning when the handlers fail, Normal when
// they pass again.
func (r *Reconciler) recordOutcome(ctx context.Context, s *scope) {
	log.FromContext(ctx).Info("event handler check outcome changed", "ready", s.check.ready, "message", s.check.message)
	if r.Recorder == nil {
		return
	}
	if s.check.ready {
		r.Recorder.Eventf(s.hub, nil, corev1.EventTypeNormal, reasonHandlersValidated, actionValidate, "every event handler URL passed the abuse-protection check")
		return
	}
	r.Recorder.Eventf(s.hub, nil, corev1.EventTypeWarning, v1alpha1.ReasonHandlerValidationFailed, actionValidate, "%s", s.check.message)
}

// Event vocabulary of the checks.
const (
	reasonHandlersValidated = "HandlersValidated"
	actionValidate          = "ValidateEventHandlers"
)
