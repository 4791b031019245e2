package logstore

import (
	"bytes"
	"io"
	"time"
)

// lineSource is where a query's lines come from.
type lineSource interface {
	next() (Line, error)
}

// machineLines reads lines as the machine printed them. Where consoled
// ended the machine's line to write a mark (flagged "(mid-line)", see the
// package doc), the marks come first and then the line, whole: "bash-5.2# "
// and the "ls" typed after a mark are one line again, with the times of
// both ends. A line is held for this up to maxLine bytes; the bytes as
// recorded (--raw) are read without it.
type machineLines struct {
	r *lineReader

	cur, peeked, joined []byte
	hasPeek             bool
	peekLine            Line

	held                []byte // the machine's line before the marks, its "\n" (consoled's) removed
	heldFirst, heldLast time.Time
	holding             bool
}

func newMachineLines(r *lineReader) *machineLines { return &machineLines{r: r} }

func (m *machineLines) next() (Line, error) {
	l, err := m.read()
	if err != nil {
		if err == io.EOF && m.holding && !m.r.keep {
			m.holding = false
			return Line{First: m.heldFirst, Last: m.heldLast, Text: m.held}, nil
		}
		return Line{}, err
	}
	if _, ok := ParseMark(l.Text); ok {
		return l, nil // marks pass, a held line waits behind them
	}
	if m.holding {
		m.joined = append(append(m.joined[:0], m.held...), l.Text...)
		l = Line{First: m.heldFirst, Last: l.Last, Text: m.joined}
		m.holding = false
	}
	if !bytes.HasSuffix(l.Text, []byte("\n")) || len(l.Text) >= maxLine {
		return l, nil
	}
	p, err := m.peek()
	if err != nil {
		return l, nil // at the end (follow: a mark comes with its "\n", never after it)
	}
	if mk, ok := ParseMark(p.Text); !ok || !mk.MidLine {
		return l, nil
	}
	m.held = append(m.held[:0], l.Text[:len(l.Text)-1]...)
	m.heldFirst, m.heldLast, m.holding, m.hasPeek = l.First, l.Last, true, false
	return p, nil
}

// read returns the peeked line, or the next one.
func (m *machineLines) read() (Line, error) {
	if m.hasPeek {
		m.hasPeek = false
		m.cur, m.peeked = m.peeked, m.cur
		return Line{First: m.peekLine.First, Last: m.peekLine.Last, Text: m.cur}, nil
	}
	l, err := m.r.next()
	if err != nil {
		return l, err
	}
	m.cur = append(m.cur[:0], l.Text...)
	l.Text = m.cur
	return l, nil
}

// peek reads the next line without consuming it.
func (m *machineLines) peek() (Line, error) {
	if !m.hasPeek {
		l, err := m.r.next()
		if err != nil {
			return l, err
		}
		m.peeked = append(m.peeked[:0], l.Text...)
		m.peekLine, m.hasPeek = Line{First: l.First, Last: l.Last}, true
	}
	return Line{First: m.peekLine.First, Last: m.peekLine.Last, Text: m.peeked}, nil
}
