package gateway

import (
	"encoding/binary"
	"errors"

	"github.com/kwps/kwps/dataplane/protocol"
)

// op is what a backplane envelope asks the receiving processes to do.
type op uint8

const (
	opSendAll op = iota + 1
	opSendGroup
	opSendUser
	opSendConn
	opCloseAll
	opCloseGroup
	opCloseUser
	opCloseConn
	opJoinConn // request: reply status
	opLeaveConn
	opLeaveAllConn
	opJoinUser
	opLeaveUser
	opLeaveAllUser
	opAddToGroups
	opRemoveFromGroups
	opGrant  // request: reply status
	opRevoke // request: reply status
	opCheck  // request: reply status
	opExists // only the receivers count matters
	opListGroup
	opPrepare // request: a reliable session moves to the asking process (handover.go)
	opCommit
	opMax
)

// envelopeVersion is the first byte of every envelope; a process ignores versions it does not know.
const envelopeVersion = 1

// envelope is one backplane message between gateway processes. Fields not used by an op are empty.
type envelope struct {
	op       op
	hub      string
	target   string // group, user or connection ID
	group    string // join/leave/permission target
	groups   []string
	excluded []string
	filter   string
	reason   string
	expires  int64 // unix nanoseconds; 0 never
	perm     Permission
	msg      protocol.Message
	id       msgID
}

// encode appends e in a compact binary form: strings and byte slices are length-prefixed.
func (e *envelope) encode(dst []byte) []byte {
	dst = append(dst, envelopeVersion, byte(e.op), byte(e.perm), byte(e.msg.From), byte(e.msg.Type))
	if e.msg.HasFromUserID {
		dst = append(dst, 1)
	} else {
		dst = append(dst, 0)
	}
	dst = binary.AppendVarint(dst, e.expires)
	dst = binary.AppendUvarint(dst, e.id.origin)
	dst = binary.AppendUvarint(dst, e.id.n)
	for _, s := range [...]string{e.hub, e.target, e.group, e.filter, e.reason, e.msg.Group, e.msg.FromUserID} {
		dst = appendString(dst, s)
	}
	dst = appendStrings(dst, e.groups)
	dst = appendStrings(dst, e.excluded)
	dst = binary.AppendUvarint(dst, uint64(len(e.msg.Data)))
	return append(dst, e.msg.Data...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendUvarint(dst []byte, v uint64) []byte { return binary.AppendUvarint(dst, v) }

func appendStrings(dst []byte, ss []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ss)))
	for _, s := range ss {
		dst = appendString(dst, s)
	}
	return dst
}

var errEnvelope = errors.New("malformed backplane envelope")

// decodeEnvelope parses an envelope; msg.Data aliases b.
func decodeEnvelope(b []byte) (*envelope, error) {
	if len(b) < 6 || b[0] != envelopeVersion || b[1] == 0 || op(b[1]) >= opMax {
		return nil, errEnvelope
	}
	e := &envelope{op: op(b[1]), perm: Permission(b[2])}
	e.msg.From, e.msg.Type, e.msg.HasFromUserID = protocol.Source(b[3]), protocol.DataType(b[4]), b[5] == 1
	r := reader{b: b[6:]}
	e.expires = r.varint()
	e.id.origin = r.uvarint()
	e.id.n = r.uvarint()
	for _, p := range [...]*string{&e.hub, &e.target, &e.group, &e.filter, &e.reason, &e.msg.Group, &e.msg.FromUserID} {
		*p = r.string()
	}
	e.groups = r.strings()
	e.excluded = r.strings()
	e.msg.Data = r.bytes()
	if r.err {
		return nil, errEnvelope
	}
	return e, nil
}

// reader consumes an envelope; any overrun sets err and yields zero values.
type reader struct {
	b   []byte
	err bool
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.err = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) bool() bool { return r.byte() == 1 }

func (r *reader) uvarints() []uint64 {
	n := r.uvarint()
	if n > uint64(len(r.b)) { // each value takes at least one byte
		r.err = true
		return nil
	}
	out := make([]uint64, 0, n)
	for range n {
		out = append(out, r.uvarint())
	}
	return out
}

func (r *reader) bytes() []byte {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) {
		r.err = true
		return nil
	}
	v := r.b[k : k+int(n)]
	r.b = r.b[k+int(n):]
	return v
}

func (r *reader) string() string { return string(r.bytes()) }

func (r *reader) strings() []string {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)) { // each string takes at least one byte
		r.err = true
		return nil
	}
	r.b = r.b[k:]
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, r.string())
	}
	return out
}
