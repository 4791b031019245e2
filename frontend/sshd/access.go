package sshd

import (
	"fmt"

	"consoled/frontend"
)

// audit records an action of this session's user.
func (s *Server) audit(ss *session, console, action, detail, result string) {
	s.opts.Audit.Record(frontend.AuditEvent{User: ss.user, Key: ss.keyFP, From: ss.RemoteAddr().String(),
		Console: console, Action: action, Detail: detail, Result: result})
}

// access is what this session's user may do on console.
func (s *Server) access(ss *session, console string) frontend.Access {
	access := s.pol().Access
	if access == nil {
		return frontend.ReadWrite
	}
	return access(ss.user, console)
}

// lookup finds a console this user may see; others look nonexistent.
func (s *Server) lookup(ss *session, name string) (*consoleRef, bool) {
	con, ok := s.opts.Consoles.Console(name)
	if !ok {
		return nil, false
	}
	acc := s.access(ss, name)
	if acc == frontend.NoAccess {
		s.audit(ss, name, "lookup", "", "refused: no access")
		return nil, false
	}
	return &consoleRef{Console: con, access: acc}, true
}

// refuse tells the user why not, records it, and returns exit status 2.
// action is the audit vocabulary (attach, takeover, break, send, power);
// detail says more (the power action, the break sequence).
func (s *Server) refuse(ss *session, console, action, detail, why string) int {
	what := action
	if detail != "" {
		what += " " + detail
	}
	fmt.Fprintf(ss.Stderr(), "consoled: %s %s refused: %s\n", what, console, why)
	s.audit(ss, console, action, detail, "refused: "+why)
	return 2
}
