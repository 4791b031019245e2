package sshd

// maxHeld bounds the console output held back while a question waits for
// its answer; past it the output is shown and the question asked again.
const maxHeld = 256 << 10

// question is a prompt on an interactive session waiting for its answer
// (the power escape's "power cycle NAME? [y/N]"). While it waits, console
// output is held back so that busy output cannot scroll it away. Guarded by
// the attachment's wmu.
type question struct {
	text string // "" when nothing is asked
	held []byte
}

// hold returns what to write of console output p now: nothing while a
// question waits (p is kept), or the held output followed by the question
// again once maxHeld is reached.
func (q *question) hold(p []byte) []byte {
	if q.text == "" {
		return p
	}
	q.held = append(q.held, p...)
	if len(q.held) < maxHeld {
		return nil
	}
	out := append(q.held, q.again()...)
	q.held = nil
	return out
}

// again is the question to show after something else was written ("" if
// none waits).
func (q *question) again() string {
	if q.text == "" {
		return ""
	}
	return "[consoled: " + q.text
}

// prompt asks a yes/no question; the next key typed is the answer. Console
// output is held back until it comes.
func (a *attachment) prompt(text string, answer func(byte)) {
	a.wmu.Lock()
	a.asking = question{text: text}
	a.ss.Write([]byte("\r\n" + a.asking.again()))
	a.wmu.Unlock()
	a.intercept = func(b byte) bool {
		a.wmu.Lock()
		held := a.asking.held
		a.asking = question{}
		a.ss.Write(append([]byte(string(printable(b))+"]\r\n"), held...))
		a.wmu.Unlock()
		answer(b)
		return true
	}
}
