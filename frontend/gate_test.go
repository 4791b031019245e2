package frontend

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Close ends the bound sessions with ErrShutdown, waits for them to
// leave, and refuses new ones; a ctx that ends first stops the wait.
func TestGate(t *testing.T) {
	g := NewGate()
	leave, ok := g.Enter()
	if !ok {
		t.Fatal("an open gate refused a session")
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stop := g.Bind(cancel)
	defer stop()

	closed := make(chan struct{})
	go func() { g.Close(context.Background()); close(closed) }()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("closing the gate did not end the session's context")
	}
	if !errors.Is(context.Cause(ctx), ErrShutdown) {
		t.Errorf("cause %v, want ErrShutdown", context.Cause(ctx))
	}
	if _, ok := g.Enter(); ok {
		t.Error("a closing gate admitted a session")
	}
	select {
	case <-closed:
		t.Fatal("Close returned while a session was still in")
	default:
	}
	leave()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return once the session left")
	}

	// A session that never leaves: Close returns when its ctx ends.
	g = NewGate()
	if _, ok := g.Enter(); !ok {
		t.Fatal("an open gate refused a session")
	}
	wait, done := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer done()
	g.Close(wait)
	if wait.Err() == nil {
		t.Error("Close returned before its ctx ended with a session still in")
	}
	// Bound after Close: cancelled at once.
	ctx2, cancel2 := context.WithCancelCause(context.Background())
	defer g.Bind(cancel2)()
	select {
	case <-ctx2.Done():
	case <-time.After(10 * time.Second):
		t.Error("a context bound to a closed gate was not ended")
	}
}
