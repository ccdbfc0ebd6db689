package auth

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// clientPath is the path of the client endpoint below the service endpoint.
const clientPath = "/client/hubs/"

// audienceMatches reports whether one of auds is a URL on an accepted host whose path (and query)
// pathOK accepts. Accepted hosts are each public endpoint's host, with that endpoint's path as prefix,
// and r's Host, with no prefix. Schemes are ignored (http, https, ws and wss are equivalent).
func (v *Verifier) audienceMatches(auds []string, r *http.Request, pathOK func(aud *url.URL, prefix string) bool) bool {
	var endpoints []*url.URL
	if v.PublicEndpoints != nil {
		endpoints = v.PublicEndpoints()
	}
	for _, a := range auds {
		aud, err := url.Parse(a)
		if err != nil || !webScheme(aud.Scheme) || aud.Host == "" || aud.User != nil || aud.Fragment != "" {
			continue
		}
		for _, ep := range endpoints {
			if ep != nil && sameHost(aud.Host, ep.Host) && pathOK(aud, strings.TrimRight(ep.Path, "/")) {
				return true
			}
		}
		if r != nil && r.Host != "" && sameHost(aud.Host, r.Host) && pathOK(aud, "") {
			return true
		}
	}
	return false
}

func webScheme(s string) bool {
	return equalFold(s, "http") || equalFold(s, "https") || equalFold(s, "ws") || equalFold(s, "wss")
}

// sameHost compares two host[:port] values case-insensitively. Ports 80 and 443 count as no port: the
// scheme is ignored, so a default port of either scheme is the default.
func sameHost(a, b string) bool {
	ah, ap := splitHost(a)
	bh, bp := splitHost(b)
	return ap == bp && ah != "" && equalFold(ah, bh)
}

func splitHost(hostport string) (host, port string) {
	u := url.URL{Host: hostport}
	host, port = u.Hostname(), u.Port()
	if port == "80" || port == "443" {
		port = ""
	}
	return host, port
}

// clientAudiencePath accepts prefix + /client/hubs/{hub} with at most one trailing slash, and
// prefix + /client/?hub={hub}, comparing case-insensitively on the decoded path (so an escaped and a raw
// hub both match).
func clientAudiencePath(aud *url.URL, prefix, hub string) bool {
	p := strings.TrimSuffix(aud.Path, "/")
	if aud.RawQuery == "" {
		return len(p) == len(prefix)+len(clientPath)+len(hub) &&
			equalFold(p[:len(prefix)], prefix) &&
			equalFold(p[len(prefix):len(prefix)+len(clientPath)], clientPath) &&
			equalFold(p[len(prefix)+len(clientPath):], hub)
	}
	if !equalFold(p, prefix+"/client") {
		return false
	}
	q, err := url.ParseQuery(aud.RawQuery)
	return err == nil && len(q) == 1 && len(q["hub"]) == 1 && equalFold(q["hub"][0], hub)
}

// restAudienceMatches accepts the request path, or prefix + the request path, compared case-insensitively
// on the decoded paths with at most one trailing slash of difference; a query in the audience must hold
// the same values as the request's, in any order.
func restAudienceMatches(aud *url.URL, prefix, reqPath string, reqQuery url.Values) bool {
	p := strings.TrimSuffix(aud.Path, "/")
	rp := strings.TrimSuffix(reqPath, "/")
	if !equalFold(p, rp) && (prefix == "" || !equalFold(p, prefix+rp)) {
		return false
	}
	if aud.RawQuery == "" {
		return true
	}
	q, err := url.ParseQuery(aud.RawQuery)
	if err != nil || len(q) != len(reqQuery) {
		return false
	}
	for k, vals := range q {
		if !slices.Equal(vals, reqQuery[k]) {
			return false
		}
	}
	return true
}

// maxQuoted bounds how much of a caller- or token-supplied string an error message quotes.
const maxQuoted = 200

func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "..."
	}
	return strconv.Quote(s)
}

// equalFold compares ASCII letters case-insensitively and every other byte exactly. Unlike
// strings.EqualFold it never equates two different invalid UTF-8 sequences (both decode to U+FFFD).
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}
