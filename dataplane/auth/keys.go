package auth

import (
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/golang-jwt/jwt/v5"
)

// KeySet holds the two access keys of an instance. Both are valid for verification at the same time, so
// keys rotate without a restart: set a new secondary, move clients to it, then replace the primary.
// A KeySet is safe for concurrent use; readers see either the old or the new pair, never a mix. The zero
// value holds no key and verifies nothing.
type KeySet struct {
	snap atomic.Pointer[keySnapshot]
}

// keySnapshot is immutable once stored.
type keySnapshot struct {
	keys   []string               // non-empty keys, primary first, no duplicates
	verify jwt.VerificationKeySet // the same keys as HMAC secrets
}

// NewKeySet returns a KeySet holding primary and secondary (either may be empty).
func NewKeySet(primary, secondary string) *KeySet {
	k := &KeySet{}
	k.Set(primary, secondary)
	return k
}

// Set replaces both keys atomically. Surrounding white space is trimmed (a key read from a file often
// ends in a newline; Azure keys never contain white space); empty keys and a secondary equal to the
// primary are dropped.
func (k *KeySet) Set(primary, secondary string) {
	s := &keySnapshot{}
	for _, key := range []string{primary, secondary} {
		key = strings.TrimSpace(key)
		if key == "" || slices.Contains(s.keys, key) {
			continue
		}
		s.keys = append(s.keys, key)
		s.verify.Keys = append(s.verify.Keys, []byte(key))
	}
	k.snap.Store(s)
}

// Primary returns the key to sign with: the primary key, or the secondary when there is no primary, or
// "" when the set is empty.
func (k *KeySet) Primary() string {
	if s := k.load(); len(s.keys) > 0 {
		return s.keys[0]
	}
	return ""
}

// Keys returns a copy of the non-empty keys, primary first.
func (k *KeySet) Keys() []string {
	return slices.Clone(k.load().keys)
}

var emptySnapshot = &keySnapshot{}

func (k *KeySet) load() *keySnapshot {
	if k == nil {
		return emptySnapshot
	}
	if s := k.snap.Load(); s != nil {
		return s
	}
	return emptySnapshot
}

// keyBytes is the number of random bytes in a generated key; base64 makes it 44 characters, the shape
// of an Azure access key.
const keyBytes = 32

// GenerateKey returns a new random access key: 32 bytes from crypto/rand, standard base64 (44 chars).
func GenerateKey() (string, error) {
	b := make([]byte, keyBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
