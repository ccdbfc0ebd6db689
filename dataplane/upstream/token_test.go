package upstream

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestTokenFileName(t *testing.T) {
	tests := []struct{ resource, want string }{
		// Stable: the operator projects tokens at these names, so they must never change.
		{"api://kwps-upstream", "api-kwps-upstream-" + hashPrefix("api://kwps-upstream")},
		{"https://example.com/app", "https-example.com-app-" + hashPrefix("https://example.com/app")},
		{"00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000001-" + hashPrefix("00000000-0000-0000-0000-000000000001")},
		{"://", "token-" + hashPrefix("://")},
		{"..", "token-" + hashPrefix("..")},
	}
	for _, tt := range tests {
		if got := TokenFileName(tt.resource); got != tt.want {
			t.Errorf("TokenFileName(%q) = %q, want %q", tt.resource, got, tt.want)
		}
	}
	if got := TokenFileName("api://kwps-upstream"); got != "api-kwps-upstream-5d6c9fc70c" {
		t.Errorf("TokenFileName changed: %q", got)
	}
	if a, b := TokenFileName("api://a/b"), TokenFileName("api://a:b"); a == b {
		t.Errorf("resources that sanitize alike share the file %q", a)
	}
	safe := regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,80}$`)
	for _, r := range []string{strings.Repeat("x/", 200), "é😀", "a\x00b", "-.-", " "} {
		if got := TokenFileName(r); !safe.MatchString(got) {
			t.Errorf("TokenFileName(%q) = %q is not a safe file name", r, got)
		}
	}
}

// hashPrefix is the documented suffix: the first 10 hex digits of the resource's SHA-256.
func hashPrefix(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:10]
}

func TestFileTokenSource(t *testing.T) {
	dir := t.TempDir()
	src := &FileTokenSource{Dir: dir}
	write := func(resource, content string, mod time.Time) {
		t.Helper()
		p := filepath.Join(dir, TokenFileName(resource))
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	write("aud-a", " token-a\n", now)
	write("aud-b", "token-b", now)
	for res, want := range map[string]string{"aud-a": "token-a", "aud-b": "token-b"} {
		if got, err := src.Token(res); err != nil || got != want {
			t.Errorf("Token(%q) = %q, %v; want %q", res, got, err, want)
		}
	}
	write("aud-a", "token-a2", now.Add(time.Minute))
	waitFor(t, "the rotated token", func() bool { got, _ := src.Token("aud-a"); return got == "token-a2" })

	write("empty", " \n", now)
	write("spaces", "two words", now)
	for res, want := range map[string]string{"empty": "file is empty", "spaces": "not a bearer token", "missing": "no such file", "": "no resource"} {
		if got, err := src.Token(res); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Token(%q) = %q, %v; want an error containing %q", res, got, err, want)
		}
	}
}

func TestStaticTokenFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte("static"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := &StaticTokenFile{Path: p}
	for _, res := range []string{"a", "b", ""} {
		if got, err := src.Token(res); err != nil || got != "static" {
			t.Errorf("Token(%q) = %q, %v", res, got, err)
		}
	}
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	_ = os.Chtimes(p, later, later)
	waitFor(t, "the empty file to be refused", func() bool { _, err := src.Token("a"); return err != nil })
}
