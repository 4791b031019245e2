package sshd

import (
	"log/slog"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// refusedRequests are session requests consoled answers "no" to (gliderlabs
// answers "yes" to agent forwarding and env by default). Port forwarding is
// refused by forwardRequests and forwardChannels.
var refusedRequests = map[string]string{
	"auth-agent-req@openssh.com": "agent forwarding",
	"x11-req":                    "X11 forwarding",
	"env":                        "environment variables",
}

// sessionHandler is gliderlabs' session channel handler with the requests
// above refused before it sees them.
func (s *Server) sessionHandler(srv *ssh.Server, conn *gossh.ServerConn, newChan gossh.NewChannel, ctx ssh.Context) {
	ssh.DefaultSessionHandler(srv, conn, filteredChannel{NewChannel: newChan, log: s.log, ctx: ctx}, ctx)
}

// filteredChannel is a session channel whose refused requests are
// answered here.
type filteredChannel struct {
	gossh.NewChannel
	log *slog.Logger
	ctx ssh.Context
}

func (c filteredChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := c.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	out := make(chan *gossh.Request)
	go func() {
		defer close(out)
		for req := range reqs {
			if what, refused := refusedRequests[req.Type]; refused {
				c.log.Info("ssh request refused", "request", req.Type, "what", what,
					"user", c.ctx.Value(userKey), "from", c.ctx.RemoteAddr().String())
				req.Reply(false, nil)
				continue
			}
			out <- req
		}
	}()
	return ch, out, nil
}

// forwardRequests answer no to port forwarding asked for on the connection
// (ssh -R), and log it.
func (s *Server) forwardRequests() map[string]ssh.RequestHandler {
	no := func(ctx ssh.Context, _ *ssh.Server, req *gossh.Request) (bool, []byte) {
		s.log.Info("ssh request refused", "request", req.Type, "what", "port forwarding",
			"user", ctx.Value(userKey), "from", ctx.RemoteAddr().String())
		return false, nil
	}
	return map[string]ssh.RequestHandler{
		"tcpip-forward": no, "cancel-tcpip-forward": no,
		"streamlocal-forward@openssh.com": no, "cancel-streamlocal-forward@openssh.com": no,
	}
}

// refuseForward rejects a port-forwarding channel (ssh -L, -W), and logs it.
func (s *Server) refuseForward(_ *ssh.Server, _ *gossh.ServerConn, newChan gossh.NewChannel, ctx ssh.Context) {
	s.log.Info("ssh request refused", "request", newChan.ChannelType(), "what", "port forwarding",
		"user", ctx.Value(userKey), "from", ctx.RemoteAddr().String())
	newChan.Reject(gossh.Prohibited, "port forwarding is not allowed")
}
