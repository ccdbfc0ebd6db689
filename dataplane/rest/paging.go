package rest

import (
	"encoding/base64"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Page sizes of listConnectionsInGroup (maxpagesize, SWAGGER: 1-200).
const (
	MaxPageSize     = 200
	DefaultPageSize = MaxPageSize
)

// maxContinuationTokenBytes bounds the continuationToken parameter: a cursor is at most the base64 of a
// MaxIDBytes connection ID and a number.
const maxContinuationTokenBytes = 2 * MaxIDBytes

// groupMemberPage is GroupMemberPagedValues.
type groupMemberPage struct {
	Value []groupMember `json:"value"`
	// NextLink is the absolute URL of the next page; absent on the last page. The SDKs GET it as is,
	// without adding parameters (the JS SDK's listConnectionsInGroupNext adds not even api-version).
	NextLink string `json:"nextLink,omitempty"`
}

// groupMember is WebPubSubGroupMember: userId is absent for an anonymous connection.
type groupMember struct {
	ConnectionID string `json:"connectionId"`
	UserID       string `json:"userId,omitempty"`
}

// listConnectionsInGroup is GET /api/hubs/{hub}/groups/{group}/connections (maxpagesize, top,
// continuationToken). Members come in connectionId order. top caps the total over all pages; the
// continuationToken carries what is left of it, so `top` on a request with a continuationToken is
// ignored.
func (h *handler) listConnectionsInGroup(w http.ResponseWriter, q *request) error {
	group, err := q.group()
	if err != nil {
		return err
	}
	pageSize, err := q.intParam("maxpagesize", DefaultPageSize, 1, MaxPageSize)
	if err != nil {
		return err
	}
	top, err := q.intParam("top", 0, 1, math.MaxInt32)
	if err != nil {
		return err
	}
	cur := pageCursor{remaining: top}
	if tok := q.query.Get("continuationToken"); tok != "" {
		if cur, err = parseCursor(tok); err != nil {
			return err
		}
	}
	limit := pageSize
	if cur.remaining > 0 {
		limit = min(limit, cur.remaining)
	}
	page, more, err := h.svc.ListGroupConnections(q.Context(), q.hub, group, cur.after, limit)
	if err != nil {
		return internal(err)
	}
	page = page[:min(len(page), limit)]
	out := groupMemberPage{Value: make([]groupMember, len(page))}
	for i, c := range page {
		out.Value[i].ConnectionID = c.ConnectionID
		if c.HasUserID {
			out.Value[i].UserID = c.UserID
		}
	}
	if more && len(page) > 0 {
		next := pageCursor{after: page[len(page)-1].ConnectionID}
		if cur.remaining > 0 {
			next.remaining = cur.remaining - len(page)
		}
		if cur.remaining == 0 || next.remaining > 0 {
			out.NextLink = h.nextLink(q, next)
		}
	}
	return respondJSON(w, out)
}

// pageCursor is where the next page starts: after a connectionId, with remaining members of top left
// (0: no cap).
type pageCursor struct {
	after     string
	remaining int
}

// encode returns the continuationToken: base64url of "<remaining>:<after>". It is opaque to clients.
func (c pageCursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(c.remaining) + ":" + c.after))
}

func parseCursor(tok string) (pageCursor, error) {
	bad := badParam("continuationToken", "The continuation token is not valid; use the nextLink of the previous page.")
	if len(tok) > maxContinuationTokenBytes {
		return pageCursor{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return pageCursor{}, bad
	}
	n, after, found := strings.Cut(string(raw), ":")
	remaining, err := strconv.Atoi(n)
	if !found || err != nil || remaining < 0 || remaining > math.MaxInt32 || after == "" || len(after) > MaxIDBytes {
		return pageCursor{}, bad
	}
	return pageCursor{after: after, remaining: remaining}, nil
}

// nextLink is the absolute URL of the page after next: this request's path on the public endpoint with
// api-version, maxpagesize (when given) and the continuationToken.
func (h *handler) nextLink(q *request, next pageCursor) string {
	v := url.Values{}
	v.Set("api-version", apiVersionOf(q.query))
	if s := q.query.Get("maxpagesize"); s != "" {
		v.Set("maxpagesize", s)
	}
	v.Set("continuationToken", next.encode())
	return h.baseURL(q.Request) + q.URL.EscapedPath() + "?" + v.Encode()
}
