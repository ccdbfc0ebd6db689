package protocol

import (
	"encoding/base64"
	"strings"
)

// DecodeJSON decodes one json.webpubsub.azure.v1 (or json.reliable) client message. Every error wraps
// ErrMalformed and says what is wrong. Type names are matched case-insensitively, as the service does.
// Data aliases b when it needs no unescaping.
func DecodeJSON(b []byte) (Request, error) {
	var r Request
	f, err := scanRequest(b)
	if err != nil {
		return r, err
	}
	typ, ok := optString(f.typ)
	if !ok {
		return r, wrongType("type")
	}
	if f.ackID != nil && !isNull(f.ackID) {
		if r.AckID, ok = uintValue(f.ackID); !ok {
			return r, wrongType("ackId")
		}
		r.HasAckID = true
	}
	switch strings.ToLower(string(typ)) {
	case "joingroup":
		r.Type = JoinGroup
		return r, needGroup(&r, f.group)
	case "leavegroup":
		r.Type = LeaveGroup
		return r, needGroup(&r, f.group)
	case "sendtogroup":
		r.Type = SendToGroup
		if err := needGroup(&r, f.group); err != nil {
			return r, err
		}
		if f.noEcho != nil && !isNull(f.noEcho) {
			switch string(f.noEcho) {
			case "true":
				r.NoEcho = true
			case "false":
			default:
				return r, wrongType("noEcho")
			}
		}
		return r, decodeJSONData(&r.Payload, f.dataType, f.data)
	case "event":
		r.Type = Event
		event, ok := optString(f.event)
		if !ok {
			return r, wrongType("event")
		}
		if len(event) == 0 {
			return r, malformed("'event' is required for type 'event'")
		}
		if len(event) > MaxEventNameLength {
			return r, malformed("event name is longer than %d characters", MaxEventNameLength)
		}
		r.Event = string(event)
		return r, decodeJSONData(&r.Payload, f.dataType, f.data)
	case "sequenceack":
		r.Type = SequenceAck
		if f.sequenceID == nil || isNull(f.sequenceID) {
			return r, malformed("'sequenceId' is required for type 'sequenceAck'")
		}
		if r.SequenceID, ok = uintValue(f.sequenceID); !ok {
			return r, wrongType("sequenceId")
		}
		return r, nil
	case "ping":
		r.Type = Ping
		return r, nil
	case "":
		return r, malformed("'type' is required")
	}
	return r, malformed("unknown message type %q", truncate(string(typ), 64))
}

func wrongType(field string) error { return malformed("'%s' has the wrong type", field) }

// optString interprets an optional string field: absent and null are empty; ok is false for a value
// of another type.
func optString(v []byte) (s []byte, ok bool) {
	if v == nil || isNull(v) {
		return nil, true
	}
	return stringValue(v)
}

func needGroup(r *Request, v []byte) error {
	g, ok := optString(v)
	if !ok {
		return wrongType("group")
	}
	if v == nil || isNull(v) {
		return malformed("'group' is required for type '%s'", r.Type)
	}
	if !ValidGroupName(string(g)) {
		return malformed("group name must be 1 to %d characters and not only whitespace", MaxGroupNameLength)
	}
	r.Group = string(g)
	return nil
}

// decodeJSONData turns the data/dataType pair into a Payload: text is unquoted, binary base64-decoded,
// json kept as its JSON text.
func decodeJSONData(p *Payload, dataType, data []byte) error {
	dt := "json"
	if v, ok := optString(dataType); !ok {
		return wrongType("dataType")
	} else if dataType != nil && !isNull(dataType) {
		dt = strings.ToLower(string(v))
	}
	if len(data) == 0 {
		return malformed("'data' is required")
	}
	switch dt {
	case "json":
		if isNull(data) {
			return malformed("'data' must not be null")
		}
		p.Type, p.Data = JSONData, data
	case "text":
		s, ok := optString(data)
		if !ok {
			return malformed("'data' must be a string when dataType is text")
		}
		p.Type, p.Data = Text, s
	case "binary", "protobuf":
		s, ok := optString(data)
		if !ok {
			return malformed("'data' must be a base64 string when dataType is %s", dt)
		}
		raw := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
		n, err := base64.StdEncoding.Decode(raw, s)
		if err != nil {
			return malformed("'data' is not valid base64")
		}
		p.Type, p.Data = Binary, raw[:n]
		if dt == "protobuf" {
			p.Type = ProtobufData
		}
	default:
		return malformed("unknown dataType %q (json, text, binary or protobuf)", truncate(dt, 32))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
