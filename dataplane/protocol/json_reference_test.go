package protocol

// The decoder DecodeJSON replaced, on encoding/json: the reference the scanner is fuzzed against.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// jsonRequest mirrors json.webpubsub.azure.v1 requests. Pointers tell absent from zero.
type jsonRequestRef struct {
	Type       string          `json:"type"`
	Group      *string         `json:"group"`
	Event      *string         `json:"event"`
	AckID      *uint64         `json:"ackId"`
	NoEcho     *bool           `json:"noEcho"`
	DataType   *string         `json:"dataType"`
	Data       json.RawMessage `json:"data"`
	SequenceID *uint64         `json:"sequenceId"`
}

func decodeJSONReference(b []byte) (Request, error) {
	var r Request
	if err := checkJSONDepthRef(b, MaxJSONDepth); err != nil {
		return r, err
	}
	var m jsonRequestRef
	if err := json.Unmarshal(b, &m); err != nil {
		return r, malformed("%s", jsonErrorTextRef(err))
	}
	if m.AckID != nil {
		r.AckID, r.HasAckID = *m.AckID, true
	}
	switch strings.ToLower(m.Type) {
	case "joingroup":
		r.Type = JoinGroup
		return r, needGroupRef(&r, m.Group)
	case "leavegroup":
		r.Type = LeaveGroup
		return r, needGroupRef(&r, m.Group)
	case "sendtogroup":
		r.Type = SendToGroup
		if err := needGroupRef(&r, m.Group); err != nil {
			return r, err
		}
		if m.NoEcho != nil {
			r.NoEcho = *m.NoEcho
		}
		return r, decodeJSONDataRef(&r.Payload, m.DataType, m.Data)
	case "event":
		r.Type = Event
		if m.Event == nil || *m.Event == "" {
			return r, malformed("'event' is required for type 'event'")
		}
		if len(*m.Event) > MaxEventNameLength {
			return r, malformed("event name is longer than %d characters", MaxEventNameLength)
		}
		r.Event = *m.Event
		return r, decodeJSONDataRef(&r.Payload, m.DataType, m.Data)
	case "sequenceack":
		r.Type = SequenceAck
		if m.SequenceID == nil {
			return r, malformed("'sequenceId' is required for type 'sequenceAck'")
		}
		r.SequenceID = *m.SequenceID
		return r, nil
	case "ping":
		r.Type = Ping
		return r, nil
	case "":
		return r, malformed("'type' is required")
	}
	return r, malformed("unknown message type %q", truncateRef(m.Type, 64))
}

func needGroupRef(r *Request, g *string) error {
	if g == nil {
		return malformed("'group' is required for type '%s'", r.Type)
	}
	if !ValidGroupName(*g) {
		return malformed("group name must be 1 to %d characters and not only whitespace", MaxGroupNameLength)
	}
	r.Group = *g
	return nil
}

// decodeJSONData turns the data/dataType pair into a Payload: text is unquoted, binary base64-decoded,
// json kept as its JSON text.
func decodeJSONDataRef(p *Payload, dataType *string, data json.RawMessage) error {
	dt := "json"
	if dataType != nil {
		dt = strings.ToLower(*dataType)
	}
	if len(data) == 0 {
		return malformed("'data' is required")
	}
	switch dt {
	case "json":
		if bytes.Equal(data, []byte("null")) {
			return malformed("'data' must not be null")
		}
		p.Type, p.Data = JSONData, data
	case "text":
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return malformed("'data' must be a string when dataType is text")
		}
		p.Type, p.Data = Text, []byte(s)
	case "binary", "protobuf":
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return malformed("'data' must be a base64 string when dataType is %s", dt)
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return malformed("'data' is not valid base64")
		}
		p.Type, p.Data = Binary, raw
		if dt == "protobuf" {
			p.Type = ProtobufData
		}
	default:
		return malformed("unknown dataType %q (json, text, binary or protobuf)", truncateRef(dt, 32))
	}
	return nil
}

// checkJSONDepth refuses documents nested deeper than max, before the full decoder sees them.
func checkJSONDepthRef(b []byte, max int) error {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return malformed("nested deeper than %d levels", max)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// jsonErrorText describes a json error without echoing the input.
func jsonErrorTextRef(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "invalid JSON at offset " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		if te.Field != "" {
			return "'" + te.Field + "' has the wrong type (" + te.Value + ")"
		}
		return "a JSON object is expected"
	}
	return "invalid JSON"
}

func truncateRef(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
