// Package phases runs a reconcile as a list of phases, each a function of the reconcile's scope that
// takes care of one owned object or one observation, so that Reconcile stays a skeleton.
package phases

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
)

// Phase reconciles one concern of the object in scope s.
type Phase[S any] func(ctx context.Context, s S) (ctrl.Result, error)

// Run runs phases in order. It stops at the first error, which it returns alone (controller-runtime
// ignores a requeue returned with an error), or after a phase that makes stop(s) true. Otherwise it
// returns the lowest non-zero RequeueAfter of the phases.
func Run[S any](ctx context.Context, s S, stop func(S) bool, phases ...Phase[S]) (ctrl.Result, error) {
	var res ctrl.Result
	for _, p := range phases {
		r, err := p(ctx, s)
		if err != nil {
			return ctrl.Result{}, err
		}
		res = LowestNonZero(res, r)
		if stop(s) {
			break
		}
	}
	return res, nil
}

// LowestNonZero merges two results: the shorter non-zero RequeueAfter wins.
func LowestNonZero(a, b ctrl.Result) ctrl.Result {
	switch {
	case a.RequeueAfter == 0:
		return b
	case b.RequeueAfter == 0 || a.RequeueAfter < b.RequeueAfter:
		return a
	}
	return b
}
