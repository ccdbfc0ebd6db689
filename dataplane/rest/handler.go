package rest

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/kwps/kwps/dataplane/auth"
	"github.com/kwps/kwps/dataplane/gateway"
)

// Options configure the REST handler.
type Options struct {
	// Service carries out the operations. Required.
	Service gateway.Service
	// Verifier checks the bearer token of every operation but the health check. Required.
	Verifier *auth.Verifier
	// Keys sign the tokens of :generateToken (with the primary key). Without a key that operation
	// answers 500.
	Keys *auth.KeySet
	// Endpoint returns the public endpoint (scheme, host and any path prefix before /api) that clients
	// use, for :generateToken audiences and nextLink URLs. Nil, or a nil result, means the request's own
	// scheme and Host.
	Endpoint func(r *http.Request) *url.URL
	// Logger receives failures of the Service; nil discards them.
	Logger *slog.Logger
	// Observe, when not nil, is called once per request with the operation name (OpXxx), the response
	// status and the time taken. It must not block.
	Observe func(op string, status int, d time.Duration)
}

// handler serves the REST API. Its fields do not change after New.
type handler struct {
	svc      gateway.Service
	verifier *auth.Verifier
	keys     *auth.KeySet
	endpoint func(r *http.Request) *url.URL
	log      *slog.Logger
	observe  func(op string, status int, d time.Duration)
	mux      *http.ServeMux
}

// opFunc carries out one operation and writes its success response; a returned error is written by the
// caller (an *apiError as is, anything else as a 500).
type opFunc func(w http.ResponseWriter, q *request) error

// route is one operation: its method, ServeMux path pattern, metric name and implementation.
type route struct {
	method, path, op string
	fn               opFunc
}

// New returns the handler of the REST API. It serves paths that start with /api/ (mount it at /api/
// without stripping the prefix) and answers anything else with 404. It panics when Options lack
// Service or Verifier.
func New(o Options) http.Handler {
	if o.Service == nil || o.Verifier == nil {
		panic("rest: Options.Service and Options.Verifier are required")
	}
	h := &handler{
		svc:      o.Service,
		verifier: o.Verifier,
		keys:     o.Keys,
		endpoint: o.Endpoint,
		log:      o.Logger,
		observe:  o.Observe,
		mux:      http.NewServeMux(),
	}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h.register(h.routes())
	return h.mux
}

// register adds every route, plus for each path a method-less fallback that answers 405 with the error
// shape (ServeMux's own 405 is plain text), and a catch-all 404.
func (h *handler) register(routes []route) {
	allow := map[string][]string{}
	var paths []string
	for _, rt := range routes {
		h.mux.Handle(rt.method+" "+rt.path, h.operation(rt))
		if _, seen := allow[rt.path]; !seen {
			paths = append(paths, rt.path)
		}
		allow[rt.path] = append(allow[rt.path], rt.method)
	}
	for _, p := range paths {
		h.mux.Handle(p, h.methodNotAllowed(allow[p]))
	}
	h.mux.Handle("/", h.fallback(&apiError{
		status:  http.StatusNotFound,
		Code:    CodeNotFound,
		Message: "No REST operation matches this path.",
	}))
}

func (h *handler) methodNotAllowed(methods []string) http.Handler {
	methods = slices.Clone(methods)
	if slices.Contains(methods, http.MethodGet) && !slices.Contains(methods, http.MethodHead) {
		methods = append(methods, http.MethodHead) // ServeMux serves HEAD with a GET pattern
	}
	allow := strings.Join(methods, ", ")
	e := &apiError{
		status:  http.StatusMethodNotAllowed,
		Code:    CodeMethodNotAllowed,
		Message: "The method is not allowed on this path; allowed: " + allow + ".",
	}
	inner := h.fallback(e)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		inner.ServeHTTP(w, r)
	})
}

// fallback answers every request with e, observed as OpUnknown. It needs no token: it touches nothing.
func (h *handler) fallback(e *apiError) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		writeError(rec, e)
		h.record(OpUnknown, rec, start)
	})
}

func (h *handler) record(op string, rec *statusRecorder, start time.Time) {
	if h.observe != nil {
		h.observe(op, rec.statusCode(), time.Since(start))
	}
}
