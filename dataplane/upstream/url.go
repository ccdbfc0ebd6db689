package upstream

import (
	"net/url"
	"strings"
)

// ExpandURL substitutes {hub} and {event} in an event handler's URL template. A value is path-escaped
// where it lands in the path and query-escaped where it lands in the query, so a hub or event name can
// never add a path segment or a query parameter. hubconfig.ValidateURLTemplate keeps parameters out of
// the host.
func ExpandURL(template, hub, event string) string {
	if !strings.Contains(template, "{") {
		return template
	}
	// One pass, no replacer: this runs for every event (measured by BenchmarkUserEvent).
	var b strings.Builder
	b.Grow(len(template) + 2*(len(hub)+len(event)))
	query := false
	for i := 0; i < len(template); {
		switch c := template[i]; {
		case c == '?':
			query = true
		case c == '{' && strings.HasPrefix(template[i:], "{hub}"):
			b.WriteString(escapeValue(hub, query))
			i += len("{hub}")
			continue
		case c == '{' && strings.HasPrefix(template[i:], "{event}"):
			b.WriteString(escapeValue(event, query))
			i += len("{event}")
			continue
		}
		b.WriteByte(template[i])
		i++
	}
	return b.String()
}

// escapeValue escapes a template value for the path or the query.
func escapeValue(v string, query bool) string {
	if query {
		return url.QueryEscape(v)
	}
	return url.PathEscape(v)
}

// SetCode returns rawURL with its `code` query parameter set to code, replacing any `code` already
// there and keeping the other parameters as written. It is how a CodeSecretRef reaches an Azure
// Functions style handler; rawURL may still be a template.
func SetCode(rawURL, code string) string {
	base, fragment, hasFragment := strings.Cut(rawURL, "#")
	path, query, _ := strings.Cut(base, "?")
	var b strings.Builder
	b.Grow(len(rawURL) + len(code) + 6)
	b.WriteString(path)
	b.WriteByte('?')
	for p := range strings.SplitSeq(query, "&") {
		if p == "" || p == "code" || strings.HasPrefix(p, "code=") {
			continue
		}
		b.WriteString(p)
		b.WriteByte('&')
	}
	b.WriteString("code=")
	b.WriteString(url.QueryEscape(code))
	if hasFragment {
		b.WriteByte('#')
		b.WriteString(fragment)
	}
	return b.String()
}

// redactedValue replaces every query value and password in URLs that reach errors and logs.
const redactedValue = "REDACTED"

// RedactURL returns rawURL with every query value and any password replaced by REDACTED, for errors and
// logs: an event handler URL may carry a secret in its query (`?code=`), in the template itself or from
// a CodeSecretRef. Parameter names, the host and the path stay readable.
func RedactURL(rawURL string) string {
	base, _, _ := strings.Cut(rawURL, "#")
	path, query, hasQuery := strings.Cut(base, "?")
	if scheme, rest, ok := strings.Cut(path, "://"); ok {
		authority, _, _ := strings.Cut(rest, "/")
		if at := strings.LastIndexByte(authority, '@'); at >= 0 {
			user, _, _ := strings.Cut(authority[:at], ":")
			path = scheme + "://" + user + ":" + redactedValue + rest[at:]
		}
	}
	if !hasQuery {
		return path
	}
	var b strings.Builder
	b.WriteString(path)
	b.WriteByte('?')
	first := true
	for p := range strings.SplitSeq(query, "&") {
		if p == "" {
			continue
		}
		if !first {
			b.WriteByte('&')
		}
		first = false
		name, _, _ := strings.Cut(p, "=")
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(redactedValue)
	}
	return b.String()
}
