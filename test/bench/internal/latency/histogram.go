package latency

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Buckets are log-linear: values under 64 ns have a bucket each; above, each power of two is split into
// 32 buckets, so a bucket is at most 1/32 (about 3%) wider than its lower bound.
const (
	subBits    = 5
	subBuckets = 1 << subBits
	linear     = 2 * subBuckets
	numBuckets = linear + (64-subBits-1)*subBuckets
)

// Histogram counts durations. Record is safe for concurrent use and does not allocate; readers should
// read once recording has stopped (reads during recording are approximate, never torn).
type Histogram struct {
	count   atomic.Int64
	buckets [numBuckets]atomic.Int64
}

// Record counts one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	h.buckets[bucketOf(uint64(max(d, 0)))].Add(1)
	h.count.Add(1)
}

// Count is how many durations were recorded.
func (h *Histogram) Count() int64 { return h.count.Load() }

// Quantile returns the duration under which a fraction q of expected values fall, counting every
// value that was expected but not recorded as infinitely late: with fewer than ceil(q*expected) values
// recorded it returns ok=false. An expected of zero or less uses Count. The result is the upper bound
// of the bucket that holds the value, so it errs high by at most 3%.
func (h *Histogram) Quantile(q float64, expected int64) (d time.Duration, ok bool) {
	if expected <= 0 {
		expected = h.Count()
	}
	if expected == 0 {
		return 0, false
	}
	rank := int64(math.Ceil(q * float64(expected)))
	rank = min(max(rank, 1), expected)
	var seen int64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			return time.Duration(upperBound(i)), true
		}
	}
	return 0, false
}

// bucketOf is the index of the bucket that holds v.
func bucketOf(v uint64) int {
	if v < linear {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1 // keeps the leading one and subBits bits below it
	mant := v >> shift                   // in [subBuckets, 2*subBuckets)
	return linear + (shift-1)*subBuckets + int(mant-subBuckets)
}

// upperBound is the largest value bucket i holds.
func upperBound(i int) uint64 {
	if i < linear {
		return uint64(i)
	}
	shift := (i-linear)/subBuckets + 1
	mant := uint64((i-linear)%subBuckets + subBuckets)
	return (mant+1)<<shift - 1
}
