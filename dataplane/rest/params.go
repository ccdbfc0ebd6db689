package rest

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/kwps/kwps/dataplane/filter"
	"github.com/kwps/kwps/dataplane/gateway"
	"github.com/kwps/kwps/dataplane/protocol"
)

// Bounds on what a request may carry.
const (
	// MaxQueryBytes bounds the raw query string; a longer one is answered with 414.
	MaxQueryBytes = 64 << 10
	// MaxIDBytes bounds a connection or user ID (path segment or query value).
	MaxIDBytes = 1024
	// MaxExcluded bounds the repeated excluded parameter.
	MaxExcluded = 1000
	// MaxReasonBytes bounds the reason of a close.
	MaxReasonBytes = 1024
	// MaxTTLSeconds is the largest messageTtlSeconds (SWAGGER).
	MaxTTLSeconds = 300
)

// request is one call after routing: the validated canonical hub and the parsed query.
type request struct {
	*http.Request
	hub   string
	query url.Values
}

// id returns the path value name (a connection or user ID): non-empty and at most MaxIDBytes.
func (q *request) id(name string) (string, error) {
	v := q.PathValue(name)
	if err := checkID(name, v); err != nil {
		return "", err
	}
	return v, nil
}

func checkID(name, v string) error {
	switch {
	case v == "":
		return badParam(name, "The value must not be empty.")
	case len(v) > MaxIDBytes:
		return badParam(name, "The value must be at most "+strconv.Itoa(MaxIDBytes)+" bytes.")
	}
	return nil
}

// group returns the {group} path value, validated.
func (q *request) group() (string, error) {
	g := q.PathValue("group")
	if err := checkGroup("group", g); err != nil {
		return "", err
	}
	return g, nil
}

func checkGroup(name, g string) error {
	if !protocol.ValidGroupName(g) {
		return badParam(name, "A group name must be 1 to "+strconv.Itoa(protocol.MaxGroupNameLength)+
			" characters long and not only white space.")
	}
	return nil
}

// excluded returns the repeated excluded parameter. Empty values are dropped.
func (q *request) excluded() ([]string, error) {
	vals := q.query["excluded"]
	if len(vals) > MaxExcluded {
		return nil, badParam("excluded", "At most "+strconv.Itoa(MaxExcluded)+" connections can be excluded.")
	}
	var out []string
	for _, v := range vals {
		if v == "" {
			continue
		}
		if len(v) > MaxIDBytes {
			return nil, badParam("excluded", "A connection ID must be at most "+strconv.Itoa(MaxIDBytes)+" bytes.")
		}
		out = append(out, v)
	}
	return out, nil
}

// filter parses the optional filter parameter.
func (q *request) filter() (*filter.Filter, error) {
	f, err := filter.ParseOptional(q.query.Get("filter"))
	if err != nil {
		return nil, filterError(err)
	}
	return f, nil
}

// ttl parses messageTtlSeconds: an integer from 0 (never expires, the default) to MaxTTLSeconds.
func (q *request) ttl() (time.Duration, error) {
	s := q.query.Get("messageTtlSeconds")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > MaxTTLSeconds {
		return 0, badParam("messageTtlSeconds", "The value must be an integer from 0 to "+strconv.Itoa(MaxTTLSeconds)+".")
	}
	return time.Duration(n) * time.Second, nil
}

// reason returns the reason of a close, at most MaxReasonBytes.
func (q *request) reason() (string, error) {
	r := q.query.Get("reason")
	if len(r) > MaxReasonBytes {
		return "", badParam("reason", "The reason must be at most "+strconv.Itoa(MaxReasonBytes)+" bytes.")
	}
	return r, nil
}

// closeOptions parses excluded and reason.
func (q *request) closeOptions() (gateway.CloseOptions, error) {
	ex, err := q.excluded()
	if err != nil {
		return gateway.CloseOptions{}, err
	}
	reason, err := q.reason()
	if err != nil {
		return gateway.CloseOptions{}, err
	}
	return gateway.CloseOptions{Excluded: ex, Reason: reason}, nil
}

// intParam parses an optional integer parameter within [lo, hi]; def when absent.
func (q *request) intParam(name string, def, lo, hi int) (int, error) {
	s := q.query.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badParam(name, "The value must be an integer from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi)+".")
	}
	return n, nil
}
