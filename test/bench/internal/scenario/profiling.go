package scenario

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/kwps/kwps/test/bench/internal/system"
)

// profileAt holds kwps at the maximum rate sr found for Profile.ProfileWindow while it fetches a CPU
// profile from the admin listener into ProfileDir/label.pprof. It does nothing without ProfileDir, for
// other systems, or when no rate passed; a kwps without pprof is noted once.
func (r *runner) profileAt(ctx context.Context, sys system.System, label string, l *load, sr searchResult) {
	k, ok := sys.(*system.Kwps)
	if !ok || r.cfg.ProfileDir == "" || sr.max == nil {
		return
	}
	if !k.HasProfiler(ctx, 0) {
		r.note("no CPU profiles: " + system.ErrNoProfiler.Error() + ".")
		return
	}
	path := filepath.Join(r.cfg.ProfileDir, label+".pprof")
	f, err := os.Create(path)
	if err != nil {
		r.note("profiling: " + err.Error())
		return
	}
	defer f.Close()
	errc := make(chan error, 1)
	go func() { errc <- k.Profile(ctx, 0, r.prof.ProfileWindow, f) }() // bounded by the profile's length
	s := r.st.step(ctx, l, sr.max.outRate, r.prof.ProfileWindow)
	err = <-errc
	switch {
	case errors.Is(err, system.ErrNoProfiler):
		r.note(err.Error())
		f.Close()
		_ = os.Remove(path)
	case err != nil:
		r.note("profiling " + label + ": " + err.Error())
	default:
		r.logf("    CPU profile at %.0f/s (%s): %s", sr.max.outRate, s, path)
	}
}
