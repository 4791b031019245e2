package sshd

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"consoled/consoleset"
	"consoled/frontend"
)

// listTimeout bounds asking the other gateways for their consoles.
const listTimeout = 10 * time.Second

// clusterRows is every console of the cluster the user may see, with the
// gateway holding it: this gateway's own, each other live gateway's (asked
// as the user, so each applies its own policy), and the configured
// consoles nobody holds now, down with the reason.
func (s *Server) clusterRows(ss *session) []listRow {
	cl := s.opts.Cluster
	byName := map[string]listRow{}
	for _, r := range s.rows(s.core.List(ss.id)) {
		byName[r.Name] = r
	}
	ctx, cancel := context.WithTimeout(ss.ctx, listTimeout)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	failed := map[string]string{} // gateway -> why it did not answer
	for gw, addr := range cl.Peers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rows []listRow
			out, err := s.runOn(ctx, ss.id, gw, addr, "list --json")
			if err == nil {
				err = json.Unmarshal(out, &rows)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				s.log.Warn("listing another gateway's consoles", "gateway", gw, "err", err)
				failed[gw] = frontend.OneLine(err.Error())
				return
			}
			for _, r := range rows {
				r.Gateway = gw
				if old, dup := byName[r.Name]; !dup || old.State != "up" && r.State == "up" {
					byName[r.Name] = r // moving: the one that is up wins
				}
			}
		}()
	}
	wg.Wait()
	for _, name := range cl.Consoles() {
		if _, ok := byName[name]; ok {
			continue
		}
		acc := s.core.Access(ss.id, name)
		if acc == frontend.NoAccess {
			continue
		}
		r := listRow{Name: name, State: "down", Access: acc.String(), unheld: true}
		here, gw, _, err := cl.Route(name)
		switch {
		case err != nil:
			r.Error = err.Error()
		case here:
			r.Gateway, r.Error = cl.Self(), "starting on this gateway"
		case failed[gw] != "":
			r.Gateway, r.Error = gw, fmt.Sprintf("gateway %s did not answer: %s", gw, failed[gw])
		default:
			r.Gateway, r.Error = gw, "starting on gateway "+gw
		}
		r.Backend = "-"
		byName[name] = r
	}
	out := make([]listRow, 0, len(byName))
	for _, r := range byName {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// clusterListSet is `list SET` in a cluster: the set chooses among every
// console of the cluster the user may see, each with its gateway.
func (s *Server) clusterListSet(ss *session, set string, asJSON bool) int {
	parsed, err := consoleset.Parse(set)
	if err != nil {
		fmt.Fprintf(ss.Stderr(), "consoled: %v\n", err)
		return 2
	}
	p := s.core.Policy()
	var members []consoleset.Member
	for _, name := range s.opts.Cluster.Consoles() {
		if s.core.Access(ss.id, name) != frontend.NoAccess {
			members = append(members, consoleset.Member{Name: name, Tags: p.Tags[name]})
		}
	}
	names, missing := parsed.Select(members)
	if len(names) == 0 && len(missing) == 0 {
		fmt.Fprintf(ss.Stderr(), "consoled: %v %s\n", frontend.ErrNoMatch, set)
		return 2
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var rows []listRow
	for _, r := range s.clusterRows(ss) {
		if want[r.Name] {
			rows = append(rows, r)
		}
	}
	if asJSON {
		writeJSONRows(ss, rows)
	} else {
		s.writeRows(ss, rows, "\n")
	}
	if len(missing) > 0 {
		fmt.Fprintf(ss.Stderr(), "consoled: no console %s\n", strings.Join(missing, ", "))
		return 1
	}
	return 0
}
