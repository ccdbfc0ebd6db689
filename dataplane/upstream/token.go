package upstream

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// TokenSource supplies the bearer token sent to a handler whose auth type is ManagedIdentity. In kwps
// that is the pod's Kubernetes identity: a projected ServiceAccount token whose audience is the
// handler's resource. Token is called for every event and must be fast and safe for concurrent use.
type TokenSource interface {
	Token(resource string) (string, error)
}

// Bounds of token files.
const (
	// maxTokenBytes bounds a token file (a ServiceAccount token is about 1 KiB).
	maxTokenBytes = 64 << 10
	// tokenRecheck is how long a token is used before its file is looked at again. The kubelet rotates
	// projected tokens well before they expire, so a second of staleness is harmless and saves a stat
	// per event.
	tokenRecheck = time.Second
	// maxTokenNameStem bounds the readable part of TokenFileName.
	maxTokenNameStem = 64
)

// TokenFileName is the file name, inside FileTokenSource.Dir, of the token for resource: the resource
// with every run of characters other than ASCII letters, digits, '.', '_' and '-' replaced by '-'
// (at most 64 of them), then '-' and the first 10 hex digits of the SHA-256 of the resource. It is
// stable, unique per resource in practice, and valid as a file name and as the path of a projected
// volume item, so the operator can project one ServiceAccount token per audience at
// <Dir>/<TokenFileName(resource)>.
func TokenFileName(resource string) string {
	var b strings.Builder
	dash := false
	for _, r := range resource {
		ok := r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
		switch {
		case ok:
			b.WriteRune(r)
			dash = r == '-'
		case !dash:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= maxTokenNameStem {
			break
		}
	}
	stem := strings.Trim(b.String(), "-._")
	sum := sha256.Sum256([]byte(resource))
	h := hex.EncodeToString(sum[:5])
	if stem == "" {
		return "token-" + h
	}
	return stem + "-" + h
}

// FileTokenSource reads the token for a resource from Dir/TokenFileName(resource), where the operator
// projects one ServiceAccount token per audience. A file is re-read when its modification time or size
// changes (looked at no more than once a second), so kubelet rotations are picked up; an empty file is
// an error. Use it by pointer; the zero cache is ready to use.
type FileTokenSource struct {
	// Dir is the directory of the projected token files.
	Dir string

	mu    sync.Mutex
	files map[string]*tokenFile
}

// Token returns the current token for resource.
func (s *FileTokenSource) Token(resource string) (string, error) {
	if resource == "" {
		return "", errors.New("managed identity: no resource (audience) configured")
	}
	s.mu.Lock()
	if s.files == nil {
		s.files = make(map[string]*tokenFile)
	}
	f, ok := s.files[resource]
	if !ok {
		f = &tokenFile{path: filepath.Join(s.Dir, TokenFileName(resource))}
		s.files[resource] = f
	}
	s.mu.Unlock()
	return f.token()
}

// StaticTokenFile sends the token in one file for every resource (`kwps serve --identity-token-file`).
// The file is re-read when it changes, as with FileTokenSource. Use it by pointer.
type StaticTokenFile struct {
	// Path of the token file.
	Path string

	once sync.Once
	file *tokenFile
}

// Token returns the current token in the file, whatever the resource.
func (s *StaticTokenFile) Token(string) (string, error) {
	s.once.Do(func() { s.file = &tokenFile{path: s.Path} })
	return s.file.token()
}

// tokenFile caches one token file.
type tokenFile struct {
	path string

	mu      sync.Mutex
	tok     string
	mod     time.Time
	size    int64
	checked time.Time
}

func (f *tokenFile) token() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if f.tok != "" && now.Sub(f.checked) < tokenRecheck {
		return f.tok, nil
	}
	fi, err := os.Stat(f.path)
	if err != nil {
		return "", fmt.Errorf("managed identity token: %w", err)
	}
	if f.tok != "" && fi.ModTime().Equal(f.mod) && fi.Size() == f.size {
		f.checked = now
		return f.tok, nil
	}
	tok, err := readToken(f.path)
	if err != nil {
		return "", err
	}
	f.tok, f.mod, f.size, f.checked = tok, fi.ModTime(), fi.Size(), now
	return tok, nil
}

// readToken reads a token file, bounded, and refuses what cannot be a bearer token.
func readToken(path string) (string, error) {
	file, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("managed identity token: %w", err)
	}
	defer file.Close()
	b, err := readBody(file, maxTokenBytes)
	if err != nil {
		return "", fmt.Errorf("managed identity token %s: %w", path, err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("managed identity token %s: file is empty", path)
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c < 0x21 || c > 0x7e {
			return "", fmt.Errorf("managed identity token %s: not a bearer token (white space or control characters)", path)
		}
	}
	return tok, nil
}
