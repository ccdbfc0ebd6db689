package protocol

import (
	"bytes"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonFields are the request envelope's fields as spans of the input: nil when absent, "null" when
// null. DecodeJSON interprets them; jsonScanner finds them.
type jsonFields struct {
	typ, group, event, ackID, noEcho, dataType, data, sequenceID []byte
}

// set records a member whose key names a request field. Keys match case-insensitively, as
// encoding/json matches them (it was the decoder here before; see the equivalence fuzz test); a later
// duplicate wins.
func (f *jsonFields) set(key, v []byte) {
	switch {
	case keyIs(key, "type"):
		f.typ = v
	case keyIs(key, "group"):
		f.group = v
	case keyIs(key, "event"):
		f.event = v
	case keyIs(key, "ackId"):
		f.ackID = v
	case keyIs(key, "noEcho"):
		f.noEcho = v
	case keyIs(key, "dataType"):
		f.dataType = v
	case keyIs(key, "data"):
		f.data = v
	case keyIs(key, "sequenceId"):
		f.sequenceID = v
	}
}

func keyIs(key []byte, name string) bool {
	if len(key) == len(name) {
		return bytes.EqualFold(key, []byte(name))
	}
	return foldsTo(key, name)
}

// jsonScanner validates one JSON document and records the request's fields without decoding the
// rest: a client message is scanned once, and its data is kept as a span of the frame. (encoding/json
// took half the CPU of a group echo: it validated data, then copied and unquoted it.)
type jsonScanner struct {
	b     []byte
	i     int
	err   error
	depth int
}

func (s *jsonScanner) fail(format string, args ...any) {
	if s.err == nil {
		s.err = malformed(format, args...)
	}
}

func (s *jsonScanner) syntax() { s.fail("invalid JSON at offset %d", s.i) }

func (s *jsonScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// scanRequest scans the envelope: a JSON object, nothing after it.
func scanRequest(b []byte) (jsonFields, error) {
	var f jsonFields
	s := jsonScanner{b: b}
	s.space()
	if s.i >= len(b) || b[s.i] != '{' {
		if s.i < len(b) {
			s.value() // a valid document that is not an object is a type error, anything else syntax
			if s.err == nil {
				s.fail("a JSON object is expected")
			}
		} else {
			s.syntax()
		}
		return f, s.err
	}
	s.object(&f)
	s.space()
	if s.err == nil && s.i != len(b) {
		s.syntax()
	}
	return f, s.err
}

// foldsTo reports a key that matches name only through Unicode folding (K/k, ſ/s): rare, kept exact.
func foldsTo(key []byte, name string) bool {
	return len(key) != len(name) && utf8.Valid(key) && bytes.EqualFold(key, []byte(name))
}

// object scans an object; with fields (the top level) it records the request's members there.
func (s *jsonScanner) object(fields *jsonFields) {
	if !s.open('}') {
		return
	}
	for s.err == nil {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			s.syntax()
			return
		}
		kStart := s.i
		escaped := s.str()
		if s.err != nil {
			return
		}
		key := s.b[kStart+1 : s.i-1]
		if escaped {
			key = unquote(key)
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			s.syntax()
			return
		}
		s.i++
		s.space()
		vStart := s.i
		s.value()
		if s.err != nil {
			return
		}
		if fields != nil {
			fields.set(key, s.b[vStart:s.i])
		}
		s.space()
		if !s.next('}') {
			return
		}
	}
}

// value scans any JSON value.
func (s *jsonScanner) value() {
	if s.i >= len(s.b) {
		s.syntax()
		return
	}
	switch c := s.b[s.i]; {
	case c == '{':
		s.object(nil)
	case c == '[':
		s.array()
	case c == '"':
		s.str()
	case c == '-' || c >= '0' && c <= '9':
		s.number()
	case c == 't':
		s.literal("true")
	case c == 'f':
		s.literal("false")
	case c == 'n':
		s.literal("null")
	default:
		s.syntax()
	}
}

func (s *jsonScanner) literal(lit string) {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		s.syntax()
		return
	}
	s.i += len(lit)
}

func (s *jsonScanner) array() {
	if !s.open(']') {
		return
	}
	for s.err == nil {
		s.space()
		s.value()
		s.space()
		if s.err != nil {
			return
		}
		if !s.next(']') {
			return
		}
	}
}

// open enters the object or array at s.i, which ends with end. It reports whether members follow:
// false for an empty one (consumed) and when too deep.
func (s *jsonScanner) open(end byte) bool {
	s.depth++
	if s.depth > MaxJSONDepth {
		s.fail("nested deeper than %d levels", MaxJSONDepth)
		return false
	}
	s.i++ // '{' or '['
	s.space()
	if s.i < len(s.b) && s.b[s.i] == end {
		s.i++
		s.depth--
		return false
	}
	return true
}

// next reads what follows a member (after space): a comma, for another member (true), or end, which
// leaves the object or array (false). Anything else is a syntax error.
func (s *jsonScanner) next(end byte) bool {
	if s.i >= len(s.b) {
		s.syntax()
		return false
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		return true
	case end:
		s.i++
		s.depth--
	default:
		s.syntax()
	}
	return false
}

// str scans a string (s.i at its opening quote) and reports whether it holds escapes.
func (s *jsonScanner) str() (escaped bool) {
	s.i++
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return escaped
		case c == '\\':
			escaped = true
			if s.i+1 >= len(s.b) {
				s.syntax()
				return
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) || !isHex4(s.b[s.i+2:s.i+6]) {
					s.syntax()
					return
				}
				s.i += 6
			default:
				s.syntax()
				return
			}
		case c < 0x20:
			s.syntax()
			return
		default:
			s.i++
		}
	}
	s.syntax()
	return
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return true
}

func (s *jsonScanner) number() {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		s.syntax()
		return
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			s.syntax()
			return
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			s.syntax()
			return
		}
	}
}

func (s *jsonScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// stringValue interprets a field span as a string: ok is false when it is not one. A string without
// escapes and valid UTF-8 is returned as a span of the input.
func stringValue(v []byte) (s []byte, ok bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return inner, true
	}
	return unquote(inner), true
}

// unquote decodes a validated string body: escapes resolved, invalid UTF-8 and lone surrogates become
// U+FFFD (as encoding/json decodes them).
func unquote(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			if c < utf8.RuneSelf {
				out = append(out, c)
				i++
				continue
			}
			r, size := utf8.DecodeRune(b[i:])
			out = utf8.AppendRune(out, r) // RuneError for invalid bytes
			i += size
			continue
		}
		switch b[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := rune(hex4(b[i+2 : i+6]))
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(b) && b[i] == '\\' && b[i+1] == 'u' {
					if r2 := rune(hex4(b[i+2 : i+6])); utf16.DecodeRune(r, r2) != utf8.RuneError {
						out = utf8.AppendRune(out, utf16.DecodeRune(r, r2))
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // " \ /
			out = append(out, b[i+1])
		}
		i += 2
	}
	return out
}

func hex4(b []byte) uint16 {
	v, _ := strconv.ParseUint(string(b[:4]), 16, 16)
	return uint16(v)
}

// uintValue interprets a span as a non-negative integer, as encoding/json fills a uint64.
func uintValue(v []byte) (uint64, bool) {
	n, err := strconv.ParseUint(string(v), 10, 64)
	return n, err == nil
}

// isNull reports a null field (which encoding/json treats as absent for pointers).
func isNull(v []byte) bool { return len(v) == 4 && string(v) == "null" }

// checkJSONValue validates a standalone JSON value, bounded in depth; tooDeep tells a depth refusal
// from a syntax error.
func checkJSONValue(b []byte) (tooDeep bool, err error) {
	s := jsonScanner{b: b}
	s.space()
	s.value()
	s.space()
	if s.err == nil && s.i != len(b) {
		s.syntax()
	}
	return s.depth > MaxJSONDepth, s.err
}
