package sshd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"consoled/frontend"
)

// dialTimeout bounds connecting to another gateway.
const dialTimeout = 10 * time.Second

// dialGateway opens an SSH connection to gateway gw at addr acting for id:
// this gateway logs in with its host key; gw must answer with the host
// key it published.
func (s *Server) dialGateway(ctx context.Context, gw, addr string, id frontend.Identity) (*gossh.Client, error) {
	cl := s.opts.Cluster
	cfg := &gossh.ClientConfig{
		User: fwdLogin(cl.Self(), id),
		Auth: []gossh.AuthMethod{gossh.PublicKeys(s.opts.HostKey)},
		HostKeyCallback: func(_ string, _ net.Addr, key gossh.PublicKey) error {
			if !cl.IsGateway(gw, key) {
				return fmt.Errorf("%s answered with a host key gateway %s did not publish", addr, gw)
			}
			return nil
		},
		Timeout: dialTimeout,
	}
	d := net.Dialer{Timeout: dialTimeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("reaching gateway %s at %s: %w", gw, addr, err)
	}
	if nc.LocalAddr().String() == nc.RemoteAddr().String() {
		// A dead gateway's port reused as this connection's own source
		// port: TCP connected the socket to itself.
		nc.Close()
		return nil, fmt.Errorf("reaching gateway %s at %s: nothing listens there", gw, addr)
	}
	nc.SetDeadline(time.Now().Add(dialTimeout)) // the handshake and login
	c, chans, reqs, err := gossh.NewClientConn(nc, addr, cfg)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("logging in to gateway %s at %s: %w", gw, addr, err)
	}
	nc.SetDeadline(time.Time{})
	return gossh.NewClient(c, chans, reqs), nil
}

// splice runs the session's command on gateway gw and passes everything
// through both ways: the pty and its size changes, stdin and its end,
// stdout, stderr, BREAK requests and the exit status.
func (s *Server) splice(ss *session, gw, addr string) int {
	s.opts.Cluster.Forwarded(1)
	defer s.opts.Cluster.Forwarded(-1)
	client, err := s.dialGateway(ss.ctx, gw, addr, ss.id)
	if err != nil {
		s.log.Warn("forwarding", "console_gateway", gw, "user", ss.id.User, "err", err)
		fmt.Fprintf(ss.Stderr(), "consoled: %v\n", err)
		return 1
	}
	defer client.Close()
	rs, err := client.NewSession()
	if err != nil {
		fmt.Fprintf(ss.Stderr(), "consoled: forwarding to gateway %s: %v\n", gw, err)
		return 1
	}
	defer rs.Close()
	ptyReq, winch, isPty := ss.Pty()
	if isPty {
		if err := rs.RequestPty(ptyReq.Term, ptyReq.Window.Height, ptyReq.Window.Width, gossh.TerminalModes{}); err != nil {
			fmt.Fprintf(ss.Stderr(), "consoled: forwarding to gateway %s: pty: %v\n", gw, err)
			return 1
		}
		go func() {
			last := ptyReq.Window
			for w := range winch { // the first is the size asked for with the pty
				if w != last {
					last = w
					rs.WindowChange(w.Height, w.Width)
				}
			}
		}()
	}
	stdin, err := rs.StdinPipe()
	if err != nil {
		return 1
	}
	rs.Stdout, rs.Stderr = ss, ss.Stderr()
	breaks := make(chan bool, 1)
	ss.Break(breaks)
	defer ss.Break(nil)
	s.log.Info("forwarding", "user", ss.id.User, "to", gw, "command", ss.RawCommand())
	if ss.RawCommand() == "" {
		err = rs.Shell()
	} else {
		err = rs.Start(ss.RawCommand())
	}
	if err != nil {
		fmt.Fprintf(ss.Stderr(), "consoled: forwarding to gateway %s: %v\n", gw, err)
		return 1
	}
	go func() {
		io.Copy(stdin, ss)
		stdin.Close() // the client's end of input reaches the holder
	}()
	done := make(chan error, 1)
	go func() { done <- rs.Wait() }()
	for {
		select {
		case <-breaks:
			rs.SendRequest("break", true, gossh.Marshal(struct{ Ms uint32 }{1000}))
		case err := <-done:
			var exit *gossh.ExitError
			switch {
			case err == nil:
				return 0
			case errors.As(err, &exit):
				return exit.ExitStatus()
			}
			// The holder went away (died, or let go of the console):
			// the console comes up elsewhere; attaching again finds it.
			fmt.Fprintf(ss.Stderr(), "consoled: lost gateway %s, which held the console (%v); attach again\n", gw, err)
			return 1
		case <-ss.ctx.Done():
			ss.ended(func(text string) { fmt.Fprintf(ss.Stderr(), "consoled: %s\n", text) })
			return 1
		}
	}
}

// run runs command on gateway gw for the session's user and returns its
// standard output (list --json, panics).
func (s *Server) runOn(ctx context.Context, id frontend.Identity, gw, addr, command string) ([]byte, error) {
	client, err := s.dialGateway(ctx, gw, addr, id)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	rs, err := client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("gateway %s: %w", gw, err)
	}
	defer rs.Close()
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()
	out, err := rs.Output(command)
	if err != nil {
		return out, fmt.Errorf("gateway %s: %s: %w", gw, command, err)
	}
	return out, nil
}
