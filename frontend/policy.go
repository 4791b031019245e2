package frontend

import (
	"errors"
	"fmt"
	"time"

	"consoled/breakseq"
)

// Access is what a user may do on a console.
type Access int

// Access levels.
const (
	NoAccess  Access = iota // the console does not exist for this user
	ReadOnly                // watch, read logs
	ReadWrite               // also type, BREAK, power, take over
)

// String is the access level as listings show it: none, ro or rw.
func (a Access) String() string {
	return [...]string{"none", "ro", "rw"}[a]
}

// AccessFunc says what user may do on console.
type AccessFunc func(user, console string) Access

// Identity is who asks for an action, the same person whatever the
// transport.
type Identity struct {
	User string // the configured user
	Key  string // SHA256 fingerprint of the key they proved, "" for none
	From string // where from, e.g. the client's address
	Via  string // the transport, e.g. "ssh"
	// A user certificate's holder: CA is the SHA256 fingerprint of the CA
	// that signed it ("" for a configured key), Principals its names
	// (group "G" { principals } make its holder a member of G), CertUntil
	// its end (zero: none), CertID and CertSerial what the audit records.
	CA         string
	Principals []string
	CertUntil  time.Time
	CertID     string
	CertSerial uint64
}

// Policy is the part of the configuration a reload changes. Every action
// is decided against the policy in force when it happens.
type Policy struct {
	Access AccessFunc // nil: every known user has rw everywhere
	// Keys maps each configured user to the fingerprints of their keys. An
	// identity whose user is not here, or whose key is no longer theirs,
	// may do nothing. Nil: no user check (every identity stands).
	Keys   map[string]map[string]bool
	Breaks map[int]breakseq.Seq // ^Ecl1..9, break --seq N
	Escape []byte               // e.g. {0x05, 'c'} for ^Ec
	Replay int                  // lines of recent output shown on interactive attach
	Admins map[string]bool      // may run reload
	Tags   map[string][]string  // each console's tags, for console sets (@tag)
	// CAs are the fingerprints of the trusted user CAs; CertAccess is what a
	// certificate user (with the groups their principals make them a
	// member of) may do on a console; PrincipalGroups maps a principal to
	// its groups.
	CAs             map[string]bool
	CertAccess      func(user string, groups []string, console string) Access
	PrincipalGroups map[string][]string
	// Motd is shown to whoever attaches interactively. IdleTimeout ends an
	// interactive session idle that long (0: never); IdleTimeouts are the
	// consoles' own, which win.
	Motd         string
	IdleTimeout  time.Duration
	IdleTimeouts map[string]time.Duration
	// Screens are the consoles' screen sizes, for painting the current
	// screen at attach (DefaultScreen when a console is not here).
	Screens map[string]ScreenSize
}

// Errors the core's actions return; refusals by the policy match ErrDenied.
var (
	ErrDenied    = errors.New("refused")
	ErrNoConsole = errors.New("no such console")
	// ErrNoPower: the console has no power control configured.
	ErrNoPower = errors.New("no power control configured")
	// ErrUnavailable: the action is not offered here (no config file to
	// reload, no panic list).
	ErrUnavailable = errors.New("not available")
)

// DeniedError is an action the policy refuses; Why is for people.
type DeniedError struct{ Why string }

// Error is why the action was refused.
func (e *DeniedError) Error() string { return e.Why }

// Unwrap makes a DeniedError match ErrDenied.
func (e *DeniedError) Unwrap() error { return ErrDenied }

// Refusal words err for the person whose action (e.g. "break BREAK") on
// console the policy refused; ok is false when err is no such refusal.
// Every transport tells people the same thing.
func Refusal(what string, err error, console string) (text string, ok bool) {
	var d *DeniedError
	if !errors.As(err, &d) {
		return "", false
	}
	return fmt.Sprintf("%s refused: you have %s to %s", what, d.Why, console), true
}

func denied(format string, a ...any) error { return &DeniedError{Why: fmt.Sprintf(format, a...)} }

// stands says why id may do nothing under p, or nil if it still stands.
func (p *Policy) stands(id Identity) error {
	if id.CA != "" {
		switch {
		case !p.CAs[id.CA]:
			return denied("the certificate authority %s is no longer trusted", id.CA)
		case !id.CertUntil.IsZero() && !time.Now().Before(id.CertUntil):
			return denied("certificate %q serial %d expired at %s", id.CertID, id.CertSerial, id.CertUntil.UTC().Format(time.RFC3339))
		}
		return nil
	}
	if p.Keys == nil {
		return nil
	}
	keys, ok := p.Keys[id.User]
	switch {
	case !ok:
		return denied("user %s is no longer in the configuration", id.User)
	case id.Key != "" && !keys[id.Key]:
		return denied("key %s is no longer configured for %s", id.Key, id.User)
	}
	return nil
}

// access is what id may do on console under p.
func (p *Policy) access(id Identity, console string) Access {
	if p.stands(id) != nil {
		return NoAccess
	}
	if id.CA != "" && p.CertAccess != nil {
		var groups []string
		for _, pr := range id.Principals {
			groups = append(groups, p.PrincipalGroups[pr]...)
		}
		return p.CertAccess(id.User, groups, console)
	}
	if p.Access == nil {
		return ReadWrite
	}
	return p.Access(id.User, console)
}

// IdleTimeoutOf is how long an interactive session on console may be
// idle before it is ended (0: never).
func (p *Policy) IdleTimeoutOf(console string) time.Duration {
	if d, ok := p.IdleTimeouts[console]; ok {
		return d
	}
	return p.IdleTimeout
}
