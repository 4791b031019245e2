package sshd

import (
	"log/slog"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// refusedRequests are session requests consoled answers "no" to (gliderlabs
// answers "yes" to agent forwarding and env by default). Port forwarding
// needs no entry: with no forwarding callbacks, gliderlabs refuses
// "tcpip-forward" and "direct-tcpip".
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
