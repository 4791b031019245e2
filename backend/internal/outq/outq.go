// Package outq is the output queue of a backend that produces a console's
// output itself (a simulated machine, an IPMI SOL packet loop) rather than
// reading it from a file descriptor: the producer puts bytes in, the mux's
// reader takes them out, waiting while there are none.
package outq

import (
	"sync"

	"consoled/backend"
)

// Q is an unbounded byte queue with one error that ends it. The zero value
// is ready to use.
type Q struct {
	mu   sync.Mutex
	cond sync.Cond
	b    []byte
	err  error
}

func (q *Q) init() {
	if q.cond.L == nil {
		q.cond.L = &q.mu
	}
}

// Put appends p (copied) for the reader.
func (q *Q) Put(p []byte) {
	if len(p) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.init()
	q.b = append(q.b, p...)
	q.cond.Broadcast()
}

// End makes Read return err once the queue is empty; the first error stays.
func (q *Q) End(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.init()
	if q.err == nil {
		q.err = err
	}
	q.cond.Broadcast()
}

// Read takes what is queued, waiting until something is or the queue ends.
func (q *Q) Read(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.init()
	for len(q.b) == 0 && q.err == nil {
		q.cond.Wait()
	}
	return q.take(p)
}

// TryRead is Read without waiting (backend.TryReader).
func (q *Q) TryRead(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.b) == 0 && q.err == nil {
		return 0, backend.ErrNothingYet
	}
	return q.take(p)
}

// take is called with mu held and something queued or the queue ended.
func (q *Q) take(p []byte) (int, error) {
	if len(q.b) == 0 {
		return 0, q.err
	}
	n := copy(p, q.b)
	q.b = q.b[:copy(q.b, q.b[n:])]
	if len(q.b) == 0 && cap(q.b) > 64<<10 {
		q.b = nil // a burst is over: do not keep its buffer
	}
	return n, nil
}
