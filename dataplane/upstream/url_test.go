package upstream

import (
	"net/url"
	"strings"
	"testing"
)

func TestExpandURL(t *testing.T) {
	tests := []struct {
		name, template, hub, event, want string
	}{
		{"path", "http://h/api/{hub}/{event}", "chat", "connect", "http://h/api/chat/connect"},
		{"query", "http://h/api?hub={hub}&event={event}", "chat", "connect", "http://h/api?hub=chat&event=connect"},
		{"no parameters", "https://h:8443/webhook?code=abc", "chat", "connect", "https://h:8443/webhook?code=abc"},
		{"every occurrence", "http://h/{event}/{event}?e={event}", "chat", "x", "http://h/x/x?e=x"},
		{"hub characters escaped in the path", "http://h/api/{hub}/{event}", "a`b,c[d]", "e.v-1_2", "http://h/api/a%60b%2Cc%5Bd%5D/e.v-1_2"},
		{"hub characters escaped in the query", "http://h/api?hub={hub}", "a`b,c[d]", "x", "http://h/api?hub=a%60b%2Cc%5Bd%5D"},
		{"a value cannot add a segment or a parameter", "http://h/{hub}?e={event}", "a/b?c", "x&code=y", "http://h/a%2Fb%3Fc?e=x%26code%3Dy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExpandURL(tt.template, tt.hub, tt.event); got != tt.want {
				t.Errorf("ExpandURL = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzExpandURL(f *testing.F) {
	f.Add("http://h/api/{hub}/{event}?h={hub}&e={event}", "chat", "connect")
	f.Add("https://h:1/{event}", "a`b", "x/y?z")
	f.Fuzz(func(t *testing.T, template, hub, event string) {
		if !strings.HasPrefix(template, "http://h/") || strings.ContainsAny(template, "#%") {
			return
		}
		got := ExpandURL(template, hub, event)
		u, err := url.Parse(got)
		if err != nil {
			return // the template itself was not a URL
		}
		if u.Host != "h" {
			t.Fatalf("host of %q became %q", got, u.Host)
		}
		// A value never adds a path segment or a query parameter. Counted in the raw text: a template
		// with characters a URL must escape (a space) has no faithful EscapedPath.
		gp, gq := splitRaw(got)
		tp, tq := splitRaw(strings.NewReplacer("{hub}", "H", "{event}", "E").Replace(template))
		if a, b := strings.Count(gp, "/"), strings.Count(tp, "/"); a != b {
			t.Fatalf("%q has %d path separators, the template %d", got, a, b)
		}
		if a, b := strings.Count(gq, "&"), strings.Count(tq, "&"); a != b {
			t.Fatalf("%q has %d query separators, the template %d", got, a, b)
		}
	})
}

// splitRaw splits a URL on "http://h" into its raw path and query.
func splitRaw(s string) (path, query string) {
	path, query, _ = strings.Cut(strings.TrimPrefix(s, "http://h"), "?")
	return path, query
}

func TestSetCode(t *testing.T) {
	tests := []struct{ name, url, code, want string }{
		{"no query", "https://f.example.com/api/chat", "s3cr3t", "https://f.example.com/api/chat?code=s3cr3t"},
		{"other parameters kept", "https://f/api?a=1&b=2", "c", "https://f/api?a=1&b=2&code=c"},
		{"code replaced", "https://f/api?code=old&a=1&code", "new", "https://f/api?a=1&code=new"},
		{"similar names kept", "https://f/api?codex=1", "c", "https://f/api?codex=1&code=c"},
		{"escaped", "https://f/api", "a&b=c d", "https://f/api?code=a%26b%3Dc+d"},
		{"template", "https://f/{hub}?e={event}", "c", "https://f/{hub}?e={event}&code=c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SetCode(tt.url, tt.code); got != tt.want {
				t.Errorf("SetCode = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ give, want string }{
		{"https://f/api/chat?code=s3cr3t&a=1", "https://f/api/chat?code=REDACTED&a=REDACTED"},
		{"https://user:pw@f/api?code", "https://user:REDACTED@f/api?code=REDACTED"},
		{"https://user:pw@f", "https://user:REDACTED@f"},
		{"http://h:80/x#frag", "http://h:80/x"},
		{"http://h/x", "http://h/x"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.give); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestOrigin(t *testing.T) {
	tests := []struct{ endpoint, want string }{
		{"https://wps.example.com", "wps.example.com"},
		{"https://WPS.Example.com/", "wps.example.com"},
		{"https://wps.example.com:443", "wps.example.com"},
		{"http://wps.example.com:80/", "wps.example.com"},
		{"http://127.0.0.1:8080", "127.0.0.1:8080"},
		{"https://wps.example.com:8443/path", "wps.example.com:8443"},
		{"http://[::1]:8080", "[::1]:8080"},
		{"http://[::1]", "[::1]"},
	}
	for _, tt := range tests {
		got, err := Origin(tt.endpoint)
		if err != nil || got != tt.want {
			t.Errorf("Origin(%q) = %q, %v; want %q", tt.endpoint, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "wps.example.com", "ftp://h", "http://"} {
		if got, err := Origin(bad); err == nil {
			t.Errorf("Origin(%q) = %q, want an error", bad, got)
		}
	}
}
