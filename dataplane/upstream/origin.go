package upstream

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Origin returns the WebHook-Request-Origin value for a public endpoint such as
// "https://wps.example.com" or "http://127.0.0.1:8080": its host, lower-cased, with the port only when
// it is not the scheme's default. That is what JavaScript's `new URL(endpoint).host` gives, which
// @azure/web-pubsub-express compares its allowedEndpoints with.
func Origin(endpoint string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil {
		return "", fmt.Errorf("endpoint %q is not a URL", RedactURL(endpoint))
	}
	scheme := strings.ToLower(u.Scheme)
	if (scheme != "http" && scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("endpoint %q must be an absolute http or https URL", RedactURL(endpoint))
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") { // IPv6 literal: JavaScript keeps the brackets
		host = "[" + host + "]"
	}
	if port == "" {
		return host, nil
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port), nil
}
