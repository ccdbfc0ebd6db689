package gateway

// maxRememberedAcks bounds how many processed ackIds a connection remembers for duplicate detection.
const maxRememberedAcks = 1000

// ackSet remembers the ackIds a connection's requests succeeded with, so a retried request is answered
// Duplicate without running again. The oldest IDs are forgotten first. The zero value is empty and
// allocates on first use. Guarded by Conn.mu.
type ackSet struct {
	seen map[uint64]struct{}
	ring []uint64
	next int
}

func (s *ackSet) contains(id uint64) bool {
	_, ok := s.seen[id]
	return ok
}

func (s *ackSet) add(id uint64) {
	if s.contains(id) {
		return
	}
	if s.seen == nil {
		s.seen = make(map[uint64]struct{})
	}
	if len(s.ring) < maxRememberedAcks {
		s.ring = append(s.ring, id)
	} else {
		delete(s.seen, s.ring[s.next])
		s.ring[s.next] = id
		s.next = (s.next + 1) % maxRememberedAcks
	}
	s.seen[id] = struct{}{}
}
