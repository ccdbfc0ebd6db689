package rest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/kwps/kwps/dataplane/gateway"
	"github.com/kwps/kwps/dataplane/protocol"
)

// MaxBodyBytes bounds every request body: a message (the 1 MB frame limit, PROTOCOL.md §11.2) and the
// JSON of :addToGroups / :removeFromGroups. A larger body is answered with 413.
const MaxBodyBytes = 1 << 20

// sendToAll is POST /api/hubs/{hub}/:send (excluded, filter, messageTtlSeconds).
func (h *handler) sendToAll(w http.ResponseWriter, q *request) error {
	o, err := q.sendOptions(true, true)
	if err != nil {
		return err
	}
	p, err := readPayload(w, q)
	if err != nil {
		return err
	}
	return respondAccepted(w, h.svc.SendToAll(q.Context(), q.hub, p, o))
}

// sendToUser is POST /api/hubs/{hub}/users/{userId}/:send (filter, messageTtlSeconds).
func (h *handler) sendToUser(w http.ResponseWriter, q *request) error {
	user, err := q.id("userId")
	if err != nil {
		return err
	}
	o, err := q.sendOptions(false, true)
	if err != nil {
		return err
	}
	p, err := readPayload(w, q)
	if err != nil {
		return err
	}
	return respondAccepted(w, h.svc.SendToUser(q.Context(), q.hub, user, p, o))
}

// sendToConnection is POST /api/hubs/{hub}/connections/{connectionId}/:send (messageTtlSeconds).
func (h *handler) sendToConnection(w http.ResponseWriter, q *request) error {
	conn, err := q.id("connectionId")
	if err != nil {
		return err
	}
	o, err := q.sendOptions(false, false)
	if err != nil {
		return err
	}
	p, err := readPayload(w, q)
	if err != nil {
		return err
	}
	return respondAccepted(w, h.svc.SendToConnection(q.Context(), q.hub, conn, p, o))
}

// sendToGroup is POST /api/hubs/{hub}/groups/{group}/:send (excluded, filter, messageTtlSeconds).
func (h *handler) sendToGroup(w http.ResponseWriter, q *request) error {
	group, err := q.group()
	if err != nil {
		return err
	}
	o, err := q.sendOptions(true, true)
	if err != nil {
		return err
	}
	p, err := readPayload(w, q)
	if err != nil {
		return err
	}
	return respondAccepted(w, h.svc.SendToGroup(q.Context(), q.hub, group, p, o))
}

// sendOptions parses messageTtlSeconds, and excluded and filter where the operation has them (others
// are ignored, as unknown parameters are).
func (q *request) sendOptions(withExcluded, withFilter bool) (gateway.SendOptions, error) {
	var o gateway.SendOptions
	var err error
	if o.TTL, err = q.ttl(); err != nil {
		return o, err
	}
	if withExcluded {
		if o.Excluded, err = q.excluded(); err != nil {
			return o, err
		}
	}
	if withFilter {
		if o.Filter, err = q.filter(); err != nil {
			return o, err
		}
	}
	return o, nil
}

// readPayload reads the message body, typed by its Content-Type: text/plain is text, application/json
// (or text/json) JSON, which must be valid, application/octet-stream or none binary. Anything else is 415.
func readPayload(w http.ResponseWriter, q *request) (protocol.Payload, error) {
	typ := protocol.Binary
	if ct := q.Header.Get("Content-Type"); ct != "" {
		t, ok := protocol.DataTypeOf(ct)
		if !ok || t == protocol.ProtobufData {
			return protocol.Payload{}, &apiError{
				status: http.StatusUnsupportedMediaType,
				Code:   CodeUnsupportedMediaType,
				Message: "The Content-Type must be text/plain, application/json or application/octet-stream." +
					" (Parameter 'Content-Type')",
				Target: "Content-Type",
			}
		}
		typ = t
	}
	data, err := readBody(w, q.Request, MaxBodyBytes)
	if err != nil {
		return protocol.Payload{}, err
	}
	if typ == protocol.JSONData && !json.Valid(data) {
		return protocol.Payload{}, badParam("message", "The body is not valid JSON.")
	}
	return protocol.Payload{Type: typ, Data: data}, nil
}

// readBody reads the whole body, at most limit bytes, into a buffer the caller owns. A declared length
// is checked before reading and sizes the buffer exactly, saving the copies of a growing buffer.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	if r.ContentLength >= 0 {
		buf := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(http.MaxBytesReader(w, r.Body, limit), buf); err != nil {
			return nil, &apiError{status: http.StatusBadRequest, Code: CodeBadRequest, Message: "The request body could not be read."}
		}
		return buf, nil
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge(limit)
		}
		return nil, &apiError{status: http.StatusBadRequest, Code: CodeBadRequest, Message: "The request body could not be read."}
	}
	return data, nil
}
