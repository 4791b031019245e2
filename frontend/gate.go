package frontend

import (
	"context"
	"errors"
	"sync"
)

// ErrShutdown is the cause sessions see when consoled stops.
var ErrShutdown = errors.New("consoled is shutting down")

// Gate admits a transport's sessions until it closes, as gliderlabs'
// Server.Shutdown does: Close refuses new sessions, ends the running
// ones' contexts with ErrShutdown, and waits for them to end.
type Gate struct {
	ctx    context.Context // cancelled with ErrShutdown by Close
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	closing  bool
	sessions sync.WaitGroup
}

// NewGate returns an open gate.
func NewGate() *Gate {
	g := &Gate{}
	g.ctx, g.cancel = context.WithCancelCause(context.Background())
	return g
}

// Enter admits a session; the session calls leave when it ends. ok is
// false once the gate is closing: the session is refused (ErrShutdown).
func (g *Gate) Enter() (leave func(), ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return nil, false
	}
	g.sessions.Add(1)
	return g.sessions.Done, true
}

// Bind makes cancel run with ErrShutdown when the gate closes (at once if
// it has); stop undoes that, as context.AfterFunc's stop does.
func (g *Gate) Bind(cancel context.CancelCauseFunc) (stop func() bool) {
	return context.AfterFunc(g.ctx, func() { cancel(context.Cause(g.ctx)) })
}

// Close refuses new sessions, ends the running ones' contexts (those
// bound with Bind) with ErrShutdown, and waits until they have all left
// or ctx ends.
func (g *Gate) Close(ctx context.Context) {
	g.mu.Lock()
	g.closing = true
	g.mu.Unlock()
	g.cancel(ErrShutdown)
	done := make(chan struct{})
	go func() { g.sessions.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
