package upstream

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Bounds of the default HTTP client.
const (
	// MaxResponseHeaderBytes bounds an event handler's response headers (ce-connectionState included).
	MaxResponseHeaderBytes = 64 << 10
	// MaxRedirects is how many same-host redirects the default client follows.
	MaxRedirects = 3
	// clientTimeout is a backstop over the per-event timeouts (EMU's overall upstream timeout).
	clientTimeout = 100 * time.Second
	// drainLimit is how much of an unread response body is discarded so the connection can be reused.
	drainLimit = 4 << 10
)

// NewHTTPClient returns the bounded client used when Options.HTTPClient is nil: dial, TLS and overall
// timeouts, a response header limit, an HTTP/1.1 keep-alive pool sized for many concurrent events, and
// redirects followed only to the same host (at most MaxRedirects, never from https to http). Callers
// that build their own client should keep those bounds.
func NewHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  http.ProxyFromEnvironment,
			DialContext:            dialer.DialContext,
			Protocols:              protocols,
			MaxIdleConns:           1024,
			MaxIdleConnsPerHost:    256,
			MaxConnsPerHost:        1024,
			IdleConnTimeout:        90 * time.Second,
			TLSHandshakeTimeout:    10 * time.Second,
			ExpectContinueTimeout:  time.Second,
			MaxResponseHeaderBytes: MaxResponseHeaderBytes,
		},
		CheckRedirect: sameHostRedirects,
		Timeout:       clientTimeout,
	}
}

// errRedirect is returned for a redirect the client refuses to follow.
var errRedirect = errors.New("redirect not followed")

// sameHostRedirects follows a redirect only to the host of the original request, at most MaxRedirects
// times, and never downgrades https to http: a webhook must not be bounced to another server with the
// event's signature and bearer token.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return fmt.Errorf("%w: more than %d redirects", errRedirect, MaxRedirects)
	}
	first := via[0].URL
	if !strings.EqualFold(req.URL.Host, first.Host) {
		return fmt.Errorf("%w: to another host %q", errRedirect, req.URL.Host)
	}
	if strings.EqualFold(first.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
		return fmt.Errorf("%w: from https to http", errRedirect)
	}
	return nil
}

// errTooLarge is returned for a body over its bound.
var errTooLarge = errors.New("too large")

// readBody reads at most limit bytes of a body; a longer body is an error, never truncated.
func readBody(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", errTooLarge, limit)
	}
	return b, nil
}

// closeBody discards a little of what is left of a body, so a short unread body does not cost the
// keep-alive connection, and closes it.
func closeBody(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	_ = resp.Body.Close()
}
