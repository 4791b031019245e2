package ipmi

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/bougou/go-ipmi/pkg/client"
	"github.com/bougou/go-ipmi/pkg/command/transport"
	"github.com/bougou/go-ipmi/pkg/types"

	"consoled/backend/internal/outq"
)

const (
	defaultTimeout = 2 * time.Second  // one go-ipmi request
	dialTimeout    = 20 * time.Second // login and activation
	closeTimeout   = 3 * time.Second
	maxPending     = 64 << 10 // input queued before Write blocks

	// sessionKeepalive is how often an IPMI request goes over the SOL
	// session. A BMC may count only IPMI messages, not SOL packets, as
	// session activity: ipmi_sim closes a session 30 s after the last one
	// (and with it the SOL payload and what it had buffered), and go-ipmi's
	// own keepalive, every 30 s, loses that race.
	sessionKeepalive = 10 * time.Second
)

// conn is an active SOL session. One goroutine (run) owns the protocol
// state (a solLoop); a reader feeds it datagrams; Read, Write and Break
// talk to it; keepSession keeps the IPMI session alive beside it.
type conn struct {
	c      *client.Client
	tap    *tap
	addr   string
	inSize int // the BMC's inbound payload size: most bytes per packet to it

	input chan []byte // keystrokes, and nil for a BREAK: one channel keeps their order
	stop  chan struct{}
	done  chan struct{}
	err   error // why run ended; read after done

	out outq.Q // what the machine printed, for Read

	stopKeeper context.CancelFunc
	keeperDone chan struct{}
	closeOnce  sync.Once
}

func startConn(c *client.Client, t *tap, addr string, inSize int) *conn {
	if inSize <= 4 || inSize > 255+4 {
		inSize = 255 + 4
	}
	ctx, cancel := context.WithCancel(context.Background())
	k := &conn{c: c, tap: t, addr: addr, inSize: inSize - 4, // the size includes the 4-byte SOL header
		input: make(chan []byte, 16),
		stop:  make(chan struct{}), done: make(chan struct{}),
		stopKeeper: cancel, keeperDone: make(chan struct{})}
	t.setOwned(true)
	go k.run()
	go k.keepSession(ctx)
	return k
}

// Read returns what the machine printed.
func (k *conn) Read(p []byte) (int, error) { return k.out.Read(p) }

// TryRead implements backend.TryReader.
func (k *conn) TryRead(p []byte) (int, error) { return k.out.TryRead(p) }

// Write queues keystrokes; it blocks while much input is unacknowledged.
func (k *conn) Write(p []byte) (int, error) {
	select {
	case k.input <- append([]byte(nil), p...):
		return len(p), nil
	case <-k.done:
		return 0, k.err
	}
}

// Break sends a serial BREAK (the SOL generate-break bit).
func (k *conn) Break() error {
	select {
	case k.input <- nil:
		return nil
	case <-k.done:
		return k.err
	}
}

// Close deactivates the payload and closes the session. It waits for the
// BMC at most closeTimeout, and not at all when the session had already
// ended without Close (the BMC stopped answering, or took SOL away): then
// the goodbye is said in the background, and the console goes down at once.
func (k *conn) Close() error {
	k.closeOnce.Do(func() {
		close(k.stop)
		k.stopKeeper()
		<-k.done
		<-k.keeperDone
		if k.err != errClosed {
			go k.logout()
			return
		}
		k.logout()
	})
	return nil
}

// logout deactivates SOL and closes the session, giving up on a BMC that
// does not answer within closeTimeout.
func (k *conn) logout() {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		_, _ = k.c.DeactivatePayload(ctx, &transport.DeactivatePayloadRequest{PayloadType: types.PayloadTypeSOL, PayloadInstance: 1})
		_ = k.c.Close(ctx)
	}()
	select {
	case <-closed:
	case <-ctx.Done():
		k.tap.socket().Close() // unblocks whatever go-ipmi still waits for
	}
}

// run runs the SOL loop and hands the socket back to go-ipmi when it ends.
func (k *conn) run() {
	err := k.loop()
	k.err = err
	k.out.End(err)
	k.tap.setOwned(false)
	close(k.done)
}

// keepSession sends Get Session Info over the session every
// sessionKeepalive until ctx ends. Its answer does not matter (the SOL
// loop notices a BMC that has gone); that the BMC sees an IPMI message does.
// It starts half a period late, so that it never coincides with go-ipmi's
// own keepalive (every 30 s from login): two requests at once can confuse
// go-ipmi's matching of answers to requests.
func (k *conn) keepSession(ctx context.Context) {
	defer close(k.keeperDone)
	select {
	case <-ctx.Done():
		return
	case <-time.After(sessionKeepalive / 2):
	}
	t := time.NewTicker(sessionKeepalive)
	defer t.Stop()
	for {
		_, _ = k.c.GetCurrentSessionInfo(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// errClosed ends the loop of a conn that was closed.
var errClosed = errors.New("closed")

var _ io.ReadWriteCloser = (*conn)(nil)
