package sshd

import (
	"errors"
	"fmt"
	"time"

	"consoled/frontend"
)

// webLink runs `web`: a one-time link that logs the key's user in to the
// web view.
func (s *Server) webLink(ss *session) int {
	if len(ss.args) != 1 {
		fmt.Fprintf(ss.Stderr(), "usage: web\n")
		return 2
	}
	var until time.Time // the key's expiry-time (a certificate's valid-before) ends the browser session too
	if st := stateOf(ss.Context()); st != nil {
		st.mu.Lock()
		until = st.key.Expires
		st.mu.Unlock()
	}
	url, err := s.core.WebLink(ss.id, until)
	switch {
	case errors.Is(err, frontend.ErrUnavailable):
		fmt.Fprintf(ss.Stderr(), "consoled: the web view is off (the config has no web { listen = ... } block)\n")
		return 1
	case err != nil:
		return s.fail(ss, "web", "", err)
	}
	fmt.Fprintf(ss, "%s\n", url)
	fmt.Fprintf(ss.Stderr(), "consoled: open this link in a browser within 60 s to log in as %s (it works once)\n", ss.id.User)
	return 0
}
