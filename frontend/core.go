package frontend

import (
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"consoled/mux"
	"consoled/panics"
)

// Consoles is the set of consoles the core offers (the registry).
type Consoles interface {
	Console(name string) (*mux.Console, bool)
	Consoles() []*mux.Console
}

// Options configure a Core.
type Options struct {
	Consoles Consoles
	Audit    *Auditor // nil: no audit log
	Logger   *slog.Logger
	LogDir   string        // where `logs` reads
	Panics   *panics.Store // what `panics` lists; nil: none
	Policy   Policy
	// Reload re-reads the configuration and applies it (calling SetPolicy);
	// it returns a summary of what it applied, or why the new configuration
	// was refused (summary "": nothing changed), or both when it applied
	// only part. Nil: reload is not available.
	Reload func() (string, error)
}

// Core decides, records and carries out every action on the consoles.
type Core struct {
	opts   Options
	log    *slog.Logger
	policy atomic.Pointer[Policy]

	mu       sync.Mutex
	holders  map[*holder]struct{} // live sessions and follows, re-checked on SetPolicy
	watchers []func()             // transports' own re-checks (their connections)

	links webLinks // the web view's login links (weblink.go)
}

// New returns a core serving opts.Consoles under opts.Policy.
func New(opts Options) *Core {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Core{opts: opts, log: opts.Logger, holders: map[*holder]struct{}{}}
	c.SetPolicy(opts.Policy)
	return c
}

// Policy is the policy in force.
func (c *Core) Policy() *Policy { return c.policy.Load() }

// SetPolicy puts p in force, for every action from now on and for what is
// running: a session whose user may no longer see its console is cut off
// with a cause that says why, a writer who may no longer write becomes a
// viewer and is told.
func (c *Core) SetPolicy(p Policy) {
	if len(p.Escape) == 0 {
		p.Escape = []byte{0x05, 'c'}
	}
	c.policy.Store(&p)
	c.mu.Lock()
	hs := make([]*holder, 0, len(c.holders))
	for h := range c.holders {
		hs = append(hs, h)
	}
	c.mu.Unlock()
	for _, h := range hs {
		h.recheck(&p, c.opts.Consoles)
	}
	c.mu.Lock()
	ws := c.watchers
	c.mu.Unlock()
	for _, w := range ws {
		w()
	}
}

// Watch has f called after every SetPolicy, for a transport to re-check
// what it holds itself (e.g. connections of users who no longer stand).
func (c *Core) Watch(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watchers = append(c.watchers, f)
}

// Stands is nil while id may act at all: its user is still configured
// with that key. Transports check it for each new session or command on a
// connection opened earlier.
func (c *Core) Stands(id Identity) error { return c.Policy().stands(id) }

// Access is what id may do on console now.
func (c *Core) Access(id Identity, console string) Access { return c.Policy().access(id, console) }

// Record writes an event of the transport's own (a login, a connection
// closed) to the audit log.
func (c *Core) Record(id Identity, console, action, detail, result string) {
	ev := AuditEvent{User: id.User, Key: id.Key, From: id.From, Via: id.Via,
		Console: console, Action: action, Detail: detail, Result: result}
	if id.CA != "" {
		serial := id.CertSerial
		ev.CertID, ev.CertSerial = id.CertID, &serial
	}
	c.opts.Audit.Record(ev)
}

// refuse records a refusal and returns it as a DeniedError.
func (c *Core) refuse(id Identity, console, action, detail, why string) error {
	c.Record(id, console, action, detail, "refused: "+why)
	return &DeniedError{Why: why}
}

// lookup finds a console id may see; others do not exist for id.
func (c *Core) lookup(id Identity, name string) (*mux.Console, Access, error) {
	con, ok := c.opts.Consoles.Console(name)
	if !ok {
		return nil, NoAccess, ErrNoConsole
	}
	acc := c.Access(id, name)
	if acc == NoAccess {
		c.Record(id, name, "lookup", "", "refused: no access")
		return nil, NoAccess, ErrNoConsole
	}
	return con, acc, nil
}

// Entry is one console as a user sees it in a listing.
type Entry struct {
	mux.Status
	Access Access
}

// List is the consoles id may see, sorted by name.
func (c *Core) List(id Identity) []Entry {
	var out []Entry
	for _, con := range c.opts.Consoles.Consoles() {
		if acc := c.Access(id, con.Name()); acc != NoAccess {
			out = append(out, Entry{Status: con.Status(), Access: acc})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Who lists the people attached to console name, the writer first.
func (c *Core) Who(id Identity, name string) ([]mux.ClientInfo, error) {
	con, _, err := c.lookup(id, name)
	if err != nil {
		return nil, err
	}
	return con.Clients(), nil
}

// Reload re-reads the configuration, for admins.
func (c *Core) Reload(id Identity) (string, error) {
	if err := c.Stands(id); err != nil {
		return "", c.refuse(id, "", "reload", "", err.Error())
	}
	if !c.Policy().Admins[id.User] {
		return "", c.refuse(id, "", "reload", "", "not an admin (admins = [...] in the config)")
	}
	if c.opts.Reload == nil {
		return "", errors.Join(ErrUnavailable, errors.New("reload is not available (no config file)"))
	}
	summary, err := c.opts.Reload()
	switch {
	case err != nil && summary == "":
		c.Record(id, "", "reload", "", "failed: "+OneLine(err.Error()))
	case err != nil:
		c.Record(id, "", "reload", summary, "failed in part: "+OneLine(err.Error()))
	default:
		c.Record(id, "", "reload", summary, "ok")
	}
	return summary, err
}

// OneLine keeps a message on one line of a listing or a record.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
