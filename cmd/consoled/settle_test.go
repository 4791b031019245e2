package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"consoled/backend"
	"consoled/logstore"
	"consoled/mux"
)

// heldDialer connects when open is closed (and fails then: the console
// goes down, done with its first connection).
type heldDialer struct{ open chan struct{} }

func (d heldDialer) Kind() string { return "held" }

func (d heldDialer) Dial(ctx context.Context) (backend.Conn, error) {
	select {
	case <-d.open:
		return nil, errors.New("refused")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// The pages and garbage of start-up are given back once no console is
// making its first connection any more, not before; and after maxWait
// even if one still is.
func TestSettleWaitsForFirstConnections(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var running sync.WaitGroup
	defer func() { cancel(); running.Wait() }() // before the logs close
	open := make(chan struct{})
	dir := t.TempDir()
	newConsole := func(name string, d backend.Dialer, backoff time.Duration) *mux.Console {
		lg, err := logstore.Open(dir, name, logstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lg.Close() })
		return mux.New(mux.Config{Name: name, Dialer: d, Log: lg, MinBackoff: backoff, Logger: slog.New(slog.DiscardHandler)})
	}
	var cs []*mux.Console
	for i := range 3 {
		c := newConsole(fmt.Sprint("c", i), heldDialer{open}, time.Hour)
		running.Go(func() { c.Run(ctx) })
		cs = append(cs, c)
	}
	released := make(chan time.Time, 1)
	go settle(ctx, func() []*mux.Console { return cs }, time.Hour, func() { released <- time.Now() })
	select {
	case <-released:
		t.Fatal("released while every console was still connecting")
	case <-time.After(500 * time.Millisecond):
	}
	opened := time.Now()
	close(open)
	select {
	case at := <-released:
		if at.Before(opened) {
			t.Errorf("released at %v, before the consoles connected at %v", at, opened)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not released 10 s after the consoles' first connections")
	}

	stuck := newConsole("stuck", heldDialer{make(chan struct{})}, time.Hour)
	running.Go(func() { stuck.Run(ctx) })
	go settle(ctx, func() []*mux.Console { return []*mux.Console{stuck} }, 200*time.Millisecond, func() { released <- time.Now() })
	select {
	case <-released:
	case <-time.After(10 * time.Second):
		t.Fatal("not released after maxWait with a console still connecting")
	}
}

// Nor before the goroutines of start-up have ended: a release while
// consoles' goroutines are still ending would leave their stacks.
func TestSettleWaitsForGoroutinesToEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 20
	var wg sync.WaitGroup
	ended := make(chan time.Time, 1)
	for i := range n {
		wg.Go(func() { time.Sleep(time.Duration(i+1) * 100 * time.Millisecond) })
	}
	go func() { wg.Wait(); ended <- time.Now() }()
	released := make(chan time.Time, 1)
	go settle(ctx, func() []*mux.Console { return nil }, time.Hour, func() { released <- time.Now() })
	var last time.Time
	select {
	case last = <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the goroutines did not end")
	}
	select {
	case at := <-released:
		if at.Before(last) {
			t.Errorf("released at %v, before the last goroutine ended at %v", at, last)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("not released after the goroutines ended")
	}
}
