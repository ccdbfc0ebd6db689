package rest

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/dataplane/hubconfig"
)

// operation wraps an operation with what every operation shares, in this order: bound the query,
// authenticate (all but the health check), check api-version, validate the hub, run, write the error if
// any, log a 5xx, observe.
func (h *handler) operation(rt route) http.Handler {
	public := rt.path == pathHealth
	hasHub := strings.Contains(rt.path, "{hub}")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		q, err := h.prepare(r, public, hasHub)
		if err == nil {
			err = rt.fn(rec, q)
		}
		if err != nil {
			e := asAPIError(err)
			if e.status >= http.StatusInternalServerError {
				h.log.ErrorContext(r.Context(), "rest operation failed", "op", rt.op, "hub", q.hubName(), "error", e.cause)
			}
			writeError(rec, e)
		}
		h.record(rt.op, rec, start)
	})
}

// prepare runs the checks every operation shares and returns the parsed request.
func (h *handler) prepare(r *http.Request, public, hasHub bool) (*request, error) {
	if len(r.URL.RawQuery) > MaxQueryBytes {
		return nil, &apiError{
			status:  http.StatusRequestURITooLong,
			Code:    CodeURITooLong,
			Message: "The query string is longer than the limit of 64 KiB.",
		}
	}
	if !public {
		if err := h.verifier.VerifyREST(auth.TokenFromRequest(r), r); err != nil {
			return nil, &apiError{status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: err.Error()}
		}
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &apiError{status: http.StatusBadRequest, Code: CodeBadRequest, Message: "The query string is not well-formed."}
	}
	if err := checkAPIVersion(query); err != nil {
		return nil, err
	}
	q := &request{Request: r, query: query}
	if hasHub {
		hub := r.PathValue("hub")
		if !hubconfig.ValidHubName(hub) {
			return nil, badParam("hub", "A hub name must start with a letter and hold at most 128 letters, digits and the characters _`,.[]")
		}
		q.hub = hubconfig.CanonicalHub(hub)
	}
	return q, nil
}

// hubName is the hub for log lines; q may be nil when the request failed before parsing.
func (q *request) hubName() string {
	if q == nil {
		return ""
	}
	return q.hub
}

// statusRecorder remembers the status written through it, for Observe.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) statusCode() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}
