package latency

import (
	"bytes"
	"math"
	"sync"
	"testing"
	"time"
)

// scanCases are frames as each system delivers a payload, shared by the test and the benchmark.
var scanCases = []struct {
	name  string
	frame func(p []byte) []byte
	heads int
}{
	{"kwps json text", func(p []byte) []byte {
		return append(append([]byte(`{"type":"message","from":"group","group":"g1","fromUserId":"u1","dataType":"text","data":"`), p...), `"}`...)
	}, 1},
	{"centrifuge two pushes in one frame", func(p []byte) []byte {
		one := append(append([]byte(`{"push":{"channel":"c","pub":{"data":"`), p...), `"}}}`...)
		return append(append(append([]byte(nil), one...), '\n'), one...)
	}, 2},
	{"bare raw", func(p []byte) []byte { return append([]byte(nil), p...) }, 1},
	{"no head", func([]byte) []byte { return []byte(`{"type":"system","event":"connected"}`) }, 0},
}

func TestStampScan(t *testing.T) {
	for _, c := range scanCases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Payload(2048)
			if err != nil {
				t.Fatal(err)
			}
			Stamp(p, 42, 1234567890123)
			var got []int64
			Scan(c.frame(p), func(step uint32, sent int64) {
				if step != 42 {
					t.Errorf("step %d, want 42", step)
				}
				got = append(got, sent)
			})
			if len(got) != c.heads {
				t.Fatalf("found %d heads, want %d", len(got), c.heads)
			}
			for _, s := range got {
				if s != 1234567890123 {
					t.Errorf("sent %d, want 1234567890123", s)
				}
			}
		})
	}
}

func TestScanSkipsMalformedHeads(t *testing.T) {
	p, _ := Payload(HeadLen)
	Stamp(p, 7, 99)
	for _, c := range []struct {
		name  string
		frame []byte
		want  int
	}{
		{"marker without digits", []byte("@@xyz"), 0},
		{"truncated head", p[:HeadLen-1], 0},
		{"non-digit in time", bytes.Replace(bytes.Clone(p), []byte("99"), []byte("9x"), 1), 0},
		{"garbage then a head", append([]byte("@@@@:"), p...), 1},
		{"time beyond int64", []byte("@@000001:9999999999999999999:"), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			Scan(c.frame, func(uint32, int64) { n++ })
			if n != c.want {
				t.Errorf("found %d heads, want %d", n, c.want)
			}
		})
	}
}

func TestPayloadTooSmall(t *testing.T) {
	if _, err := Payload(HeadLen - 1); err == nil {
		t.Error("a payload shorter than its head was accepted")
	}
}

func TestQuantile(t *testing.T) {
	var h Histogram
	for i := 1; i <= 100; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		name     string
		q        float64
		expected int64
		want     time.Duration
		ok       bool
	}{
		{"median", 0.5, 100, 50 * time.Millisecond, true},
		{"p99", 0.99, 100, 99 * time.Millisecond, true},
		{"max", 1, 100, 100 * time.Millisecond, true},
		{"p99 with one message of 101 missing", 0.99, 101, 100 * time.Millisecond, true},
		{"p99 with two of 102 missing counts them as late", 0.99, 102, 0, false},
		{"p50 of twice as many expected", 0.5, 200, 100 * time.Millisecond, true},
		{"zero expected uses the count", 0.99, 0, 99 * time.Millisecond, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := h.Quantile(c.q, c.expected)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v (got %s)", ok, c.ok, got)
			}
			// Buckets err high by at most 1/32.
			if ok && (got < c.want || float64(got) > float64(c.want)*(1+1.0/32)) {
				t.Errorf("got %s, want %s (+3%%)", got, c.want)
			}
		})
	}
}

func TestQuantileEmpty(t *testing.T) {
	var h Histogram
	if _, ok := h.Quantile(0.99, 0); ok {
		t.Error("an empty histogram has a p99")
	}
}

func TestBucketsCoverEveryValue(t *testing.T) {
	for _, v := range []uint64{0, 1, 63, 64, 65, 1000, 1 << 20, 123456789, 1 << 40, math.MaxInt64} {
		i := bucketOf(v)
		if i < 0 || i >= numBuckets {
			t.Fatalf("value %d: bucket %d out of range", v, i)
		}
		if up := upperBound(i); up < v || (v >= linear && float64(up-v) > float64(v)/subBuckets) {
			t.Errorf("value %d: bucket %d's upper bound %d is not within 1/%d above", v, i, up, subBuckets)
		}
		if i > 0 && upperBound(i-1) >= v {
			t.Errorf("value %d: the bucket below (%d) already holds it", v, i-1)
		}
	}
}

func TestRecorderIgnoresOtherSteps(t *testing.T) {
	r := NewRecorder()
	h := r.Begin(2)
	p, _ := Payload(64)
	Stamp(p, 1, Now())
	r.Observe(p) // late, from step 1
	Stamp(p, 2, Now())
	r.Observe(p)
	if h.Count() != 1 || r.Stale() != 1 {
		t.Errorf("count %d stale %d, want 1 and 1", h.Count(), r.Stale())
	}
}

func TestRecorderConcurrent(t *testing.T) {
	r := NewRecorder()
	h := r.Begin(5)
	p, _ := Payload(64)
	Stamp(p, 5, Now())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				r.Observe(p)
			}
		})
	}
	wg.Wait()
	if h.Count() != 8000 {
		t.Errorf("count %d, want 8000", h.Count())
	}
}

func BenchmarkObserve(b *testing.B) {
	for _, c := range scanCases {
		b.Run(c.name, func(b *testing.B) {
			p, _ := Payload(2048)
			r := NewRecorder()
			r.Begin(1)
			Stamp(p, 1, Now())
			frame := c.frame(p)
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				r.Observe(frame)
			}
		})
	}
}

func FuzzScan(f *testing.F) {
	p, _ := Payload(HeadLen + 4)
	Stamp(p, 3, 12345)
	f.Add(p)
	f.Add([]byte("@@000001:0000000000000000001:@@"))
	f.Add([]byte("@@@"))
	f.Fuzz(func(t *testing.T, b []byte) {
		Scan(b, func(step uint32, sent int64) {
			if step > MaxStep || sent < 0 {
				t.Fatalf("head out of range: step %d sent %d", step, sent)
			}
		})
	})
}
