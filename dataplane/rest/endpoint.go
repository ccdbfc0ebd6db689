package rest

import (
	"net/http"
	"net/url"
	"strings"
)

// publicEndpoint is the endpoint clients use: Options.Endpoint's answer, else the request's scheme and
// Host.
func (h *handler) publicEndpoint(r *http.Request) *url.URL {
	if h.endpoint != nil {
		if u := h.endpoint(r); u != nil && u.Host != "" {
			return u
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: r.Host}
}

// baseURL is the public endpoint as scheme://host[/prefix] with no trailing slash, to put in front of an
// /api path.
func (h *handler) baseURL(r *http.Request) string {
	u := h.publicEndpoint(r)
	return strings.ToLower(u.Scheme) + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/")
}
