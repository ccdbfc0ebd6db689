package upstream

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Signature returns the ce-signature value for a connection: one `sha256=<hex>` per key, in the order
// given (primary first), comma-separated, where hex is the lower-case HMAC-SHA256 of the connection id
// under the key, both as UTF-8 bytes. Handlers accept an event when any entry matches one of their
// keys, so both keys sign while they rotate. It returns "" for no keys.
func Signature(connectionID string, keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(len(keys) * (len("sha256=,") + 2*sha256.Size))
	var sum [sha256.Size]byte
	var hexSum [2 * sha256.Size]byte
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		mac := hmac.New(sha256.New, []byte(k))
		mac.Write([]byte(connectionID))
		hex.Encode(hexSum[:], mac.Sum(sum[:0]))
		b.WriteString("sha256=")
		b.Write(hexSum[:])
	}
	return b.String()
}
