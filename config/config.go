// Package config loads consoled's HCL configuration (see
// conserver.hcl.example at the repository root). Every error is an
// hcl.Diagnostic whose Subject is the offending range, so messages name
// file:line:column. Relative paths are resolved against the config file's
// directory.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	gossh "golang.org/x/crypto/ssh"

	"consoled/authkeys"

	"consoled/breakseq"
)

// Config is a validated configuration.
type Config struct {
	File    string // the file it came from
	Listen  string // SSH listen address
	HostKey string // path of the SSH host key (generated if missing)
	LogDir  string
	Escape  []byte // the escape prefix as bytes, e.g. {0x05, 'c'} for "^Ec"
	// AuditLog is where attach, takeover, BREAK, power, note and refusals
	// are recorded as JSON lines; log_dir/audit.log by default.
	AuditLog string
	// MaxTotal bounds the whole log directory (0: no bound).
	MaxTotal int64
	// PanicPatterns are regular expressions watched for besides the
	// built-in crash patterns; OnPanic is run on each crash.
	PanicPatterns []*regexp.Regexp
	OnPanic       []string
	// ReplayLines are shown (dimmed) to a client when it attaches.
	ReplayLines int
	// Admins may reload the configuration over SSH.
	Admins []string
	// MetricsListen serves Prometheus metrics and /healthz ("" = off).
	MetricsListen string
	// Web is the web view; nil when the config has no web block.
	Web *Web

	// Cluster is the cluster block; nil when consoled runs alone.
	Cluster *Cluster

	// Motd is shown to whoever attaches; IdleTimeout ends an interactive
	// session idle that long (0: never; a console's own idle_timeout wins).
	Motd        string
	IdleTimeout time.Duration
	// BMCEventPoll is how often the event log of each console's BMC is read
	// for new entries (0: never); OnBMCEvent runs on a critical one.
	BMCEventPoll time.Duration
	OnBMCEvent   []string
	// UserCAs sign the user certificates that may log in (trusted_user_ca_keys,
	// trusted_user_ca_keys_file): a certificate logs in as one of its
	// principals, configured as a user or not.
	UserCAs []gossh.PublicKey
	// RevokedKeysFile lists revoked keys and certificates (a key list or an
	// OpenSSH KRL), read into Revoked at load and on every reload.
	RevokedKeysFile string
	Revoked         *authkeys.Revocations
	// GroupPrincipals are each group's certificate principals: a
	// certificate naming one is a member of the group.
	GroupPrincipals map[string][]string

	Users    []User
	Consoles []Console
	Breaks   map[int]breakseq.Seq // ^Ecl1 .. ^Ecl9

	groupRanges map[string]hcl.Range
}

// User is a person who may log in.
type User struct {
	Name string
	// Keys with their authorized_keys options (from=, expiry-time, ...).
	Keys []authkeys.Key
}

// Console is one console and its backend. Exactly one of the backend
// pointers is set; Kind names it.
type Console struct {
	Name   string
	Kind   string // "telnet", "exec", "serial", "ipmi" or "demo"
	Telnet *Telnet
	Serial *Serial
	IPMI   *IPMI
	Exec   *Exec
	Demo   *Demo
	Log    LogOptions
	Access Access
	// Session: initcmd, idle_string, idle_timeout.
	Session Session
	// Tags name groups the console belongs to (a rack, a role), for
	// console sets such as @rack12.
	Tags []string
	// Power is how to switch the machine on and off: the console's own BMC
	// for an ipmi console, or a power { ipmi { ... } } block. Nil if neither.
	Power *IPMI
	// Gateway pins the console to one gateway of a cluster (a serial line
	// plugged into it); "" for a movable console, held by any live gateway.
	Gateway string
}

// Telnet is a telnet backend.
type Telnet struct {
	Address string
}

// Serial is a local serial line.
type Serial struct {
	Device   string
	Baud     int
	DataBits int
	Parity   string
	StopBits float64
	Flow     string
	BreakMs  int
}

// IPMI is a BMC reached over RMCP+ (lanplus).
type IPMI struct {
	Address     string
	User        string
	Password    string
	CipherSuite int
	Privilege   string
	Steal       bool
}

// Exec is a command run in a pty.
type Exec struct {
	Command []string
	Dir     string
	Break   []byte
	Rows    int
	Cols    int
}

// Demo is the built-in simulated machine.
type Demo struct{}

// LogOptions bound one console's log.
type LogOptions struct {
	MaxSize int64
	Keep    int
}

// Defaults for settings a config leaves out.
const (
	DefaultListen  = "127.0.0.1:2222"
	DefaultHostKey = "state/ssh_host_ed25519_key"
	DefaultLogDir  = "logs"
	DefaultEscape  = "^Ec"
	DefaultMaxSize = 64 << 20
	DefaultKeep    = 10
)

// Load reads and validates a config file.
func Load(path string) (*Config, hcl.Diagnostics) {
	src, err := os.ReadFile(path)
	if err != nil {
		// No Subject: there is no line to point at; the detail names the file.
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read config", Detail: err.Error()}}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return parse(src, path, filepath.Dir(abs), abs, true)
}

// Parse validates config source. filename is used in messages; dir is where
// relative paths are resolved. Unlike Load it accepts a config without
// users, for a caller that adds them (the embedded default).
func Parse(src []byte, filename, dir string) (*Config, hcl.Diagnostics) {
	return parse(src, filename, dir, "", false)
}

func parse(src []byte, filename, dir, file string, needUsers bool) (*Config, hcl.Diagnostics) {
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	p := &parser{dir: dir, file: file}
	cfg := p.root(f.Body)
	cfg.File = filename
	if needUsers {
		p.checkUsers(cfg, filename)
	}
	if p.diags.HasErrors() {
		return nil, p.diags
	}
	// The consoles were appended one by one: keep them in an array of
	// their number, not of the last growth's (a quarter more, 232 bytes each).
	cfg.Consoles = slices.Clone(cfg.Consoles)
	return cfg, p.diags
}

// Message is d on one line: "file:line,col: Summary; detail", or
// "Summary: detail" for a diagnostic that points at no source text (a config
// file that cannot be read, whose detail names the file and the OS error).
func Message(d *hcl.Diagnostic) string {
	if d.Subject == nil {
		return d.Summary + ": " + d.Detail
	}
	return d.Error()
}

type parser struct {
	dir   string
	file  string // the config file, for the world-readable check; "" if none
	diags hcl.Diagnostics
	keys  map[string]keyPlace // each key seen so far (by its wire form): whose, where
}

// keyPlace is the user a key was first listed for, and where.
type keyPlace struct {
	user string
	at   hcl.Range
}

// warnReadable warns when a secret sits in a config others can read.
func (p *parser) warnReadable(rng hcl.Range) {
	if p.file == "" {
		return
	}
	if st, err := os.Stat(p.file); err == nil && st.Mode().Perm()&0o004 != 0 {
		r := rng
		p.diags = append(p.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Password in a world-readable file",
			Detail: fmt.Sprintf("%s is readable by every user; chmod o-r it or use password_file", p.file), Subject: &r})
	}
}

func (p *parser) errorf(rng hcl.Range, summary, format string, a ...any) {
	r := rng
	p.diags = append(p.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary,
		Detail: fmt.Sprintf(format, a...), Subject: &r})
}

func (p *parser) path(s string) string {
	if s == "" || filepath.IsAbs(s) {
		return s
	}
	return filepath.Join(p.dir, s)
}
