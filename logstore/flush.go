package logstore

import (
	"sync"
	"time"
)

const (
	flushEvery = 90 * time.Millisecond
	flushSize  = 64 << 10
)

// flusher writes buffered output of every log that has some, every
// flushEvery, from one goroutine that runs only while there is work; then
// the index entries of what it wrote, one write per journal.
var flusher = &flushQueue{}

type flushQueue struct {
	mu       sync.Mutex
	logs     []*Log
	journals []*journal
	running  bool
}

func (q *flushQueue) add(l *Log) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.logs = append(q.logs, l)
	q.start()
}

func (q *flushQueue) addJournal(j *journal) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.journals = append(q.journals, j)
	q.start()
}

// start runs the flusher if it is not running; called with mu held.
func (q *flushQueue) start() {
	if !q.running {
		q.running = true
		go q.run()
	}
}

func (q *flushQueue) run() {
	for {
		time.Sleep(flushEvery)
		q.mu.Lock()
		logs := q.logs
		q.logs = nil
		if len(logs) == 0 && len(q.journals) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		for _, l := range logs {
			l.mu.Lock()
			l.queued = false
			l.flush()
			l.mu.Unlock()
		}
		q.mu.Lock()
		journals := q.journals
		q.journals = nil
		q.mu.Unlock()
		for _, j := range journals {
			j.write()
		}
	}
}

// Flush writes buffered output now.
func (l *Log) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flush()
}
