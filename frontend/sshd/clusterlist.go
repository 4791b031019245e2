package sshd

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

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
