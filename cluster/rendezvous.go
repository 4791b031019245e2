package cluster

import (
	"crypto/sha256"
	"encoding/binary"
)

// Owner is the member that holds a movable console: the one with the
// highest weight hash(member, console) (rendezvous hashing). Every gateway
// computes the same answer from the same member list; when a member
// joins or leaves, only the consoles it wins or held change hands. "" when
// there are no members.
func Owner(console string, members []string) string {
	best, bestW := "", uint64(0)
	for _, m := range members {
		w := weight(m, console)
		if best == "" || w > bestW || w == bestW && m < best {
			best, bestW = m, w
		}
	}
	return best
}

func weight(member, console string) uint64 {
	h := sha256.New()
	h.Write([]byte(member))
	h.Write([]byte{0})
	h.Write([]byte(console))
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}
