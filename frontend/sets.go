package frontend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"consoled/consoleset"
)

// ErrNoMatch: a console set chose no console the user may see.
var ErrNoMatch = errors.New("no console matches")

// IsSet reports whether arg names a console set (web*, @rack12, a,b, ...)
// rather than one console.
func IsSet(arg string) bool { return consoleset.IsSet(arg) }

// Select is the consoles of set (see package consoleset) that id may see,
// sorted by name: a set narrows silently to what its user may see. A
// plain name in the set that id cannot see is kept, so that acting on it
// answers ErrNoConsole as for any unknown console. A syntax error matches
// consoleset.ErrSyntax; a set that chooses nothing, ErrNoMatch.
func (c *Core) Select(id Identity, set string) ([]string, error) {
	if err := c.Stands(id); err != nil {
		return nil, err
	}
	s, err := consoleset.Parse(set)
	if err != nil {
		return nil, err
	}
	p := c.Policy()
	var members []consoleset.Member
	for _, con := range c.opts.Consoles.Consoles() {
		if p.access(id, con.Name()) != NoAccess {
			members = append(members, consoleset.Member{Name: con.Name(), Tags: p.Tags[con.Name()]})
		}
	}
	names, missing := s.Select(members)
	if len(names) == 0 && len(missing) == 0 {
		return nil, fmt.Errorf("%w %s", ErrNoMatch, set)
	}
	return sortedUnion(names, missing), nil
}

func sortedUnion(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}

// Result is the outcome of an action on one console of a set.
type Result struct {
	Console string
	Out     string // what the action answered, on success
	Err     error  // why it failed or was refused
}

// maxParallel bounds how many consoles of a set are acted on at once.
const maxParallel = 16

// Each runs f on every console of names, up to 16 at a time, and returns
// the results in the order of names.
func Each(ctx context.Context, names []string, f func(ctx context.Context, name string) (string, error)) []Result {
	res := make([]Result, len(names))
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out, err := f(ctx, n)
			res[i] = Result{Console: n, Out: out, Err: err}
		}()
	}
	wg.Wait()
	return res
}

// Failed names the consoles whose action failed.
func Failed(res []Result) []string {
	var out []string
	for _, r := range res {
		if r.Err != nil {
			out = append(out, r.Console)
		}
	}
	return out
}

// LineWriter writes whole lines to w, each prefixed: output of many
// consoles shares w line by line, never mixed within a line. Lines of
// several LineWriters on one w are kept whole by the shared mutex mu. A
// line still open is written by Flush.
type LineWriter struct {
	W      io.Writer
	Mu     *sync.Mutex
	Prefix string
	buf    []byte
}

// maxPending bounds a line held back for its end; a longer one is written
// in pieces.
const maxPending = 64 << 10

// Write writes the whole lines of p, holding back an unfinished one.
func (l *LineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	end := bytes.LastIndexByte(l.buf, '\n')
	if end < 0 && len(l.buf) < maxPending {
		return len(p), nil
	}
	if end < 0 {
		end = len(l.buf) - 1
		l.buf = append(l.buf[:end+1], '\n') // cut: ends the piece
		end++
	}
	err := l.emit(l.buf[:end+1])
	l.buf = append(l.buf[:0], l.buf[end+1:]...)
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes a line still open, ended with a newline.
func (l *LineWriter) Flush() error {
	if len(l.buf) == 0 {
		return nil
	}
	err := l.emit(append(l.buf, '\n'))
	l.buf = l.buf[:0]
	return err
}

func (l *LineWriter) emit(lines []byte) error {
	var out bytes.Buffer
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		out.WriteString(l.Prefix)
		out.Write(lines[:i+1])
		lines = lines[i+1:]
	}
	l.Mu.Lock()
	defer l.Mu.Unlock()
	_, err := l.W.Write(out.Bytes())
	return err
}
