// Package latency stamps load-test messages with the time they were sent and records how long they
// took to arrive.
//
// A payload starts with a head, "@@" then the step number (6 digits), ':', the send time (19 digits of
// nanoseconds on this process's monotonic clock) and ':', followed by 'x' padding. The head is plain
// ASCII, so every system under test forwards it unchanged whether it carries the payload as text, as a
// JSON string or as raw bytes, and a receiver finds it with one bytes.Index however the payload is
// wrapped. Senders and receivers are in the same process, so the monotonic clock is shared.
package latency

import (
	"bytes"
	"errors"
	"math"
	"time"
)

const (
	markerText = "@@"
	stepDigits = 6
	timeDigits = 19
	// HeadLen is the size of the head at the start of every payload; payloads are at least this long.
	HeadLen = len(markerText) + stepDigits + 1 + timeDigits + 1
	// MaxStep is the largest step number a head can carry.
	MaxStep = 999_999
)

var marker = []byte(markerText)

// epoch anchors Now: a monotonic reading taken once, so Now never goes back.
var epoch = time.Now()

// Now is the current time on the clock heads carry: nanoseconds since this process started.
func Now() int64 { return int64(time.Since(epoch)) }

// Payload returns a payload of size bytes whose head is zeroed (step 0, time 0) and whose rest is 'x'.
// Stamp sets the head before each send.
func Payload(size int) ([]byte, error) {
	if size < HeadLen {
		return nil, errors.New("latency: a payload needs at least 29 bytes for its head")
	}
	p := bytes.Repeat([]byte{'x'}, size)
	Stamp(p, 0, 0)
	return p, nil
}

// Stamp writes the head for step at time now into p[:HeadLen].
func Stamp(p []byte, step uint32, now int64) {
	_ = p[HeadLen-1]
	copy(p, marker)
	i := len(marker)
	putDigits(p[i:i+stepDigits], uint64(step))
	i += stepDigits
	p[i] = ':'
	i++
	putDigits(p[i:i+timeDigits], uint64(now))
	p[i+timeDigits] = ':'
}

// putDigits writes v in decimal into dst, zero-padded to len(dst).
func putDigits(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

// Scan calls fn with the step and send time of every well-formed head in b, in order. Malformed
// heads (which no system should produce) are skipped.
func Scan(b []byte, fn func(step uint32, sent int64)) {
	for {
		i := bytes.Index(b, marker)
		if i < 0 || len(b)-i < HeadLen {
			return
		}
		h := b[i : i+HeadLen]
		step, ok1 := digits(h[len(marker) : len(marker)+stepDigits])
		t := len(marker) + stepDigits + 1
		sent, ok2 := digits(h[t : t+timeDigits])
		if ok1 && ok2 && sent <= math.MaxInt64 && h[t-1] == ':' && h[HeadLen-1] == ':' {
			fn(uint32(step), int64(sent))
			b = b[i+HeadLen:]
			continue
		}
		b = b[i+len(marker):]
	}
}

func digits(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}
