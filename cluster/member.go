package cluster

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Member is a live gateway, as it publishes itself under its lease.
type Member struct {
	Name      string    `json:"name"`
	Advertise string    `json:"advertise"` // host:port of its SSH listener
	HostKey   string    `json:"host_key"`  // its SSH host key, authorized_keys format
	Started   time.Time `json:"started"`   // when this lease's session began
}

// DefaultPrefix is where in etcd the cluster keeps its keys.
const DefaultPrefix = "/consoled/"

func memberKey(prefix, name string) string { return prefix + "gateways/" + name }

func decodeMember(prefix string, key, val []byte) (Member, error) {
	var m Member
	if err := json.Unmarshal(val, &m); err != nil {
		return m, fmt.Errorf("member %s: %w", key, err)
	}
	if want := strings.TrimPrefix(string(key), prefix+"gateways/"); m.Name != want {
		return m, fmt.Errorf("member %s names itself %q", key, m.Name)
	}
	return m, nil
}

// names is the sorted names of members.
func names[V any](ms map[string]V) []string {
	out := make([]string, 0, len(ms))
	for n := range ms {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
