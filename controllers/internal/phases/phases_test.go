package phases

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
)

func TestLowestNonZero(t *testing.T) {
	r := func(d time.Duration) ctrl.Result { return ctrl.Result{RequeueAfter: d} }
	tests := []struct {
		a, b, want ctrl.Result
	}{
		{a: r(0), b: r(0), want: r(0)},
		{a: r(0), b: r(time.Second), want: r(time.Second)},
		{a: r(time.Second), b: r(0), want: r(time.Second)},
		{a: r(time.Minute), b: r(time.Second), want: r(time.Second)},
		{a: r(time.Second), b: r(time.Minute), want: r(time.Second)},
	}
	for _, tt := range tests {
		if got := LowestNonZero(tt.a, tt.b); got != tt.want {
			t.Errorf("LowestNonZero(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// state records which phases ran; stop is set by a phase to end the run.
type state struct {
	ran  []string
	stop bool
}

func phase(name string, after time.Duration, err error, stop bool) Phase[*state] {
	return func(_ context.Context, s *state) (ctrl.Result, error) {
		s.ran = append(s.ran, name)
		s.stop = stop
		return ctrl.Result{RequeueAfter: after}, err
	}
}

func TestRun(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		phases  []Phase[*state]
		wantRan []string
		want    ctrl.Result
		wantErr error
	}{
		{
			name:    "all run; the lowest requeue wins",
			phases:  []Phase[*state]{phase("a", time.Minute, nil, false), phase("b", 0, nil, false), phase("c", time.Second, nil, false)},
			wantRan: []string{"a", "b", "c"},
			want:    ctrl.Result{RequeueAfter: time.Second},
		},
		{
			name:    "an error ends the run and comes alone",
			phases:  []Phase[*state]{phase("a", time.Second, nil, false), phase("b", time.Second, boom, false), phase("c", 0, nil, false)},
			wantRan: []string{"a", "b"},
			wantErr: boom,
		},
		{
			name:    "stop ends the run after the phase, keeping its requeue",
			phases:  []Phase[*state]{phase("a", time.Minute, nil, true), phase("b", 0, nil, false)},
			wantRan: []string{"a"},
			want:    ctrl.Result{RequeueAfter: time.Minute},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &state{}
			got, err := Run(t.Context(), s, func(s *state) bool { return s.stop }, tt.phases...)
			if !errors.Is(err, tt.wantErr) || got != tt.want || !reflect.DeepEqual(s.ran, tt.wantRan) {
				t.Errorf("Run = %v, %v, ran %v; want %v, %v, ran %v", got, err, s.ran, tt.want, tt.wantErr, tt.wantRan)
			}
		})
	}
}
