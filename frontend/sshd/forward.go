package sshd

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"consoled/frontend"
	"consoled/internal/cmdargs"
)

// Cluster is what the SSH server needs of a cluster of gateways (see
// package cluster; cmd/consoled adapts it). Nil when consoled runs alone.
//
// A command about a console another gateway holds is forwarded there: this
// gateway (the entry) opens an SSH connection to the holder, logging in
// with its own host key, which the holder finds published in etcd under
// the entry's lease (IsGateway); the login name carries who asked (user,
// key fingerprint, address) and the entry's name. The holder decides and
// audits with its own core, as for any session, with Via "ssh via ENTRY".
// A forwarded session is a byte splice: pty, window size, BREAK, stdin's
// end and the exit status pass through. It is never forwarded again.
type Cluster interface {
	// Self is this gateway's name.
	Self() string
	// Route says where console name runs: here (also for a name nobody
	// configured: the core answers), or gw at addr; err says why no
	// gateway can run it now (e.g. "gateway gw2 unreachable").
	Route(name string) (here bool, gw, addr string, err error)
	// IsGateway says whether key is the host key live gateway name published.
	IsGateway(name string, key gossh.PublicKey) bool
	// Peers are the other live gateways: name -> SSH address.
	Peers() map[string]string
	// Consoles is every configured console, wherever it runs.
	Consoles() []string
	// Forwarded counts a forwarded session starting (+1) or ending (-1).
	Forwarded(delta int)
}

// fwdPrefix starts the login name of a forwarded request.
const fwdPrefix = "@fwd?"

// forwarded is who a forwarded connection acts for.
type forwarded struct {
	gateway string // the entry gateway
	id      frontend.Identity
}

const fwdKey ctxKey = "consoled-forwarded"

// fwdLogin is the login name that carries id from entry gateway gw.
func fwdLogin(gw string, id frontend.Identity) string {
	v := url.Values{"gw": {gw}, "user": {id.User}, "key": {id.Key}, "from": {id.From}}
	return fwdPrefix + v.Encode()
}

// admitGateway checks a forwarded login: the key must be the host key
// that the named entry gateway published. It returns whether the login
// was a forwarded one at all, and whether it is admitted.
func (s *Server) admitGateway(ctx ssh.Context, key ssh.PublicKey) (isFwd, ok bool) {
	login := ctx.User()
	if !strings.HasPrefix(login, fwdPrefix) {
		return false, false
	}
	v, err := url.ParseQuery(login[len(fwdPrefix):])
	if err != nil || s.opts.Cluster == nil {
		return true, false
	}
	gw, user := v.Get("gw"), v.Get("user")
	if gw == "" || user == "" || !s.opts.Cluster.IsGateway(gw, key) {
		return true, false
	}
	f := &forwarded{gateway: gw, id: frontend.Identity{User: user, Key: v.Get("key"), From: v.Get("from"), Via: "ssh via " + gw}}
	ctx.SetValue(fwdKey, f)
	ctx.SetValue(userKey, user)
	return true, true
}

func forwardedOf(ctx ssh.Context) *forwarded {
	f, _ := ctx.Value(fwdKey).(*forwarded)
	return f
}

// target is the one console a command line is about, if it names one (not
// a set): the console to attach, power, send to, break, ask who is on, or
// read the logs of.
func target(args []string) string {
	if len(args) == 0 {
		return ""
	}
	var name string
	first := func(a cmdargs.Args, err error) {
		if err == nil && len(a.Pos) > 0 {
			name = a.Pos[0]
		}
	}
	switch args[0] {
	case "list", "help", "-h", "--help", "panics", "reload", "web":
		return ""
	case "attach", "console", "who":
		if len(args) > 1 {
			name = args[1]
		}
	case "power":
		first(cmdargs.Parse(args[1:], nil, []string{"yes", "pxe"}))
	case "bootdev":
		first(cmdargs.Parse(args[1:], nil, []string{"persistent", "efi", "yes"}))
	case "sel":
		first(cmdargs.Parse(args[1:], nil, []string{"clear", "yes"}))
	case "break":
		first(cmdargs.Parse(args[1:], []string{"wait", "expect...", "seq"}, []string{"force", "yes"}))
	case "send":
		first(cmdargs.ParseUntil(args[1:], nil, []string{"force", "n", "yes"}, 2))
	case "logs":
		first(cmdargs.Parse(args[1:], []string{"since", "until", "tail", "grep...", "context"}, []string{"follow", "timestamps", "raw"}))
	default:
		name = args[0]
	}
	if name == "" || strings.HasPrefix(name, "-") || frontend.IsSet(name) {
		return ""
	}
	return name
}

// errNoHolder is a console no live gateway holds now.
var errNoHolder = errors.New("console is down")

// forwardElsewhere sends a command about a console another gateway holds there, or
// says why no gateway can serve it; done is false when the command is for
// this gateway.
func (s *Server) forwardElsewhere(ss *session) (code int, done bool) {
	cl := s.opts.Cluster
	if cl == nil {
		return 0, false
	}
	if ss.forwarded {
		return s.notHere(ss)
	}
	if len(ss.args) > 0 && ss.args[0] == "panics" {
		return s.mergedPanics(ss), true
	}
	if len(ss.args) > 0 && ss.args[0] == "logs" {
		if code, done := s.mergedLogs(ss); done {
			return code, true
		}
	}
	name := target(ss.args)
	if name == "" {
		return 0, false
	}
	here, gw, addr, err := cl.Route(name)
	switch {
	case here:
		return 0, false
	case err != nil:
		if s.core.Access(ss.id, name) == frontend.NoAccess {
			return 0, false // the core answers as for any console the user may not see
		}
		fmt.Fprintf(ss.Stderr(), "consoled: console %s is down (%v)\n", name, err)
		return 1, true
	}
	s.core.Record(ss.id, name, "forward", "to gateway "+gw, "ok")
	return s.splice(ss, gw, addr), true
}

// notHere answers a forwarded command (other than logs) about a console
// this gateway does not run (it is starting here, or the two gateways' views of the members
// differ for a moment): it is never forwarded again, and the person is
// told to try again rather than that the console does not exist.
func (s *Server) notHere(ss *session) (code int, done bool) {
	if len(ss.args) > 0 && ss.args[0] == "logs" {
		return 0, false // this gateway's part of the history, on its disk
	}
	name := target(ss.args)
	if name == "" || s.core.Access(ss.id, name) == frontend.NoAccess {
		return 0, false
	}
	here, gw, _, err := s.opts.Cluster.Route(name)
	switch {
	case here:
		return 0, false
	case err != nil:
		fmt.Fprintf(ss.Stderr(), "consoled: console %s is down (%v); try again in a few seconds\n", name, err)
	default:
		fmt.Fprintf(ss.Stderr(), "consoled: console %s is moving to gateway %s; try again in a few seconds\n", name, gw)
	}
	return 1, true
}
