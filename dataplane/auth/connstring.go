package auth

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ConnectionString is a parsed Azure Web PubSub connection string.
type ConnectionString struct {
	// Endpoint is the service URL: scheme http or https, Port= applied, default ports and trailing
	// slashes removed. It may carry a path (an endpoint behind an ingress prefix).
	Endpoint *url.URL
	// AccessKey is the key that signs tokens.
	AccessKey string
	// Version is the Version= value as written ("" when absent); no SDK acts on it.
	Version string
}

// ParseConnectionString parses a connection string the way the official SDKs do, accepting the union of
// what they accept: `key=value` segments separated by `;`, keys in any case, values trimmed, the value
// being everything after the first `=` (keys end in `=`), segments without `=` and a trailing `;`
// ignored, the last of duplicate keys winning, `https://` added to an endpoint without a scheme, and
// `Port=` replacing the endpoint's port. Endpoint and AccessKey are required. Errors match
// ErrConnectionString and never contain the key.
func ParseConnectionString(s string) (ConnectionString, error) {
	var endpoint, key, port, version string
	var haveEndpoint, haveKey, havePort bool
	for seg := range strings.SplitSeq(s, ";") {
		name, value, ok := strings.Cut(seg, "=")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "endpoint":
			endpoint, haveEndpoint = value, true
		case "accesskey":
			key, haveKey = value, true
		case "port":
			port, havePort = value, true
		case "version":
			version = value
		}
	}
	if !haveEndpoint || endpoint == "" {
		return ConnectionString{}, connErr("Endpoint is missing")
	}
	if !haveKey || key == "" {
		return ConnectionString{}, connErr("AccessKey is missing")
	}
	u, err := parseEndpoint(endpoint)
	if err != nil {
		return ConnectionString{}, err
	}
	if havePort && port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return ConnectionString{}, connErr(fmt.Sprintf("Port %q is not a number from 1 to 65535", port))
		}
		u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(n))
	}
	u.Host = dropDefaultPort(u.Scheme, u.Host)
	return ConnectionString{Endpoint: u, AccessKey: key, Version: version}, nil
}

// parseEndpoint parses an Endpoint= value into an absolute http(s) URL without a trailing slash.
func parseEndpoint(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, connErr(fmt.Sprintf("Endpoint %q is not a URL", s))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, connErr(fmt.Sprintf("Endpoint %q must start with http:// or https://", s))
	}
	if u.Hostname() == "" {
		return nil, connErr(fmt.Sprintf("Endpoint %q has no host", s))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, connErr("Endpoint must not contain user info, a query or a fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}

// dropDefaultPort removes :80 from http and :443 from https hosts, as a WHATWG URL (the JS SDK) does,
// so that audiences built from the endpoint match what the SDKs sign.
func dropDefaultPort(scheme, host string) string {
	u := url.URL{Host: host}
	p := u.Port()
	if (scheme == "http" && p == "80") || (scheme == "https" && p == "443") {
		return strings.TrimSuffix(host, ":"+p)
	}
	return host
}

func connErr(detail string) error { return fmt.Errorf("%w: %s", ErrConnectionString, detail) }

// FormatConnectionString returns the connection string that `kwps serve` prints and the operator
// publishes: `Endpoint=<endpoint without trailing slash>;AccessKey=<key>;Version=1.0;`.
func FormatConnectionString(endpoint, key string) string {
	return "Endpoint=" + strings.TrimRight(endpoint, "/") + ";AccessKey=" + key + ";Version=1.0;"
}
