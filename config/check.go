package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// portRule says which ports an address setting takes.
type portRule int

const (
	listenPort   portRule = iota // host:port required; 0 picks a free port
	dialPort                     // host:port required, 1-65535
	optionalPort                 // host or host:port, 1-65535 (IPMI: 623 without one)
)

// checkAddress refuses an address that cannot be listened on or dialled:
// no port where one is needed, a port outside 0-65535, an unknown service
// name. what names the setting in the message.
func (p *parser) checkAddress(rng hcl.Range, what, addr string, rule portRule, network string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if rule == optionalPort && addr != "" {
			return // a host without a port, as the IPMI backend reads it
		}
		p.errorf(rng, "Invalid address", "%s %q: want host:port, e.g. \"127.0.0.1:4555\" or \"[::1]:4555\"", what, addr)
		return
	}
	if host == "" && rule != listenPort {
		p.errorf(rng, "Invalid address", "%s %q: no host", what, addr)
		return
	}
	lo := 1
	if rule == listenPort {
		lo = 0
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		if n, err = net.LookupPort(network, port); err != nil {
			p.errorf(rng, "Invalid port", "%s %q: port %q is neither a number from %d to 65535 nor a known service name", what, addr, port, lo)
			return
		}
	}
	if n < lo || n > 65535 {
		p.errorf(rng, "Invalid port", "%s %q: port %s is out of range (%d to 65535)", what, addr, port, lo)
	}
}

// checkCommand refuses a command that cannot be started: a bare name not
// found in PATH, or a file that is missing or not executable. A relative
// path with a slash is relative to the config file's directory; argv[0] is
// rewritten to the path that was checked.
func (p *parser) checkCommand(rng hcl.Range, what string, argv []string) {
	if len(argv) == 0 || argv[0] == "" {
		return
	}
	name := argv[0]
	if strings.Contains(name, "/") {
		name = p.path(name)
	}
	found, err := exec.LookPath(name)
	if err != nil {
		var detail string
		var pe *fs.PathError
		switch {
		case !strings.Contains(argv[0], "/"):
			detail = fmt.Sprintf("%q is not an executable file in PATH (%s)", argv[0], os.Getenv("PATH"))
		case errors.As(err, &pe):
			detail = fmt.Sprintf("%s: %v", name, pe.Err)
		case errors.Is(err, fs.ErrPermission):
			detail = fmt.Sprintf("%s: not executable", name)
		default:
			detail = err.Error()
		}
		p.errorf(rng, "Command cannot be run", "%s: %s", what, detail)
		return
	}
	if strings.Contains(argv[0], "/") {
		argv[0] = found
	}
}

// checkUsers refuses a configuration nobody could log in with.
func (p *parser) checkUsers(cfg *Config, filename string) {
	if cfg.CertsTrusted() {
		return // certificate users
	}
	for _, u := range cfg.Users {
		if len(u.Keys) > 0 {
			return
		}
	}
	start := hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos}
	what := "no user is configured"
	if len(cfg.Users) > 0 {
		what = "no configured user has a key"
	}
	p.errorf(start, "Nobody can log in", "%s; add user \"NAME\" { keys = [\"ssh-ed25519 ...\"] } (or keys_file)", what)
}
