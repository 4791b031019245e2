// Package breakseq is conserver-style break sequences (^Ecl1 .. ^Ecl9 and
// `break --seq N`): "\z" is a BREAK, "\d" a pause, "^X" a control
// character, "\r" "\n" "\t" "\\" and "\ooo" (octal) as in C. Some machines
// take their "break" as a byte string (Sun's "\r~^b"); a sequence says which.
package breakseq

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Seq is a break sequence ready to send.
type Seq struct {
	Source string // as written, for listing
	Steps  []Step
	Delay  time.Duration // of each pause
}

// Step is one step of a break sequence: bytes to send, a BREAK, or a pause.
type Step struct {
	Data  []byte
	Break bool
	Pause bool
}

// DefaultDelay is the pause "\d" makes unless a sequence sets its own.
const DefaultDelay = 600 * time.Millisecond

// Defaults are conserver's: 1 a BREAK, 2 Sun's alternate break, 3 a
// common ROM monitor escape, 4 Sun's alternate break for the RSC/ALOM.
var Defaults = map[int]string{1: `\z`, 2: `\r~^b`, 3: `#.`, 4: `\r\d~\d^b`}

// cEscapes are the backslash escapes that stand for one byte, as in C.
var cEscapes = map[byte]byte{'r': '\r', 'n': '\n', 't': '\t', 'b': '\b', 'a': '\a', 'f': '\f', 'v': '\v', '\\': '\\', '^': '^'}

// Parse parses a break sequence into its steps.
func Parse(s string) ([]Step, error) {
	var steps []Step
	var data []byte
	flush := func() {
		if len(data) > 0 {
			steps = append(steps, Step{Data: data})
			data = nil
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '^' && i+1 < len(s):
			i++
			if s[i] == '?' {
				data = append(data, 0x7f)
			} else {
				data = append(data, s[i]&0x1f)
			}
		case c == '\\' && i+1 < len(s):
			i++
			switch e := s[i]; e {
			case 'z':
				flush()
				steps = append(steps, Step{Break: true})
			case 'd':
				flush()
				steps = append(steps, Step{Pause: true})
			default:
				if b, ok := cEscapes[e]; ok {
					data = append(data, b)
					continue
				}
				if e >= '0' && e <= '7' {
					j := i
					for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
						j++
					}
					v, _ := strconv.ParseUint(s[i:j], 8, 8)
					data = append(data, byte(v))
					i = j - 1
					continue
				}
				return nil, fmt.Errorf("break sequence %q: unknown escape \\%c", s, e)
			}
		default:
			data = append(data, c)
		}
	}
	flush()
	if len(steps) == 0 {
		return nil, fmt.Errorf("break sequence %q is empty", s)
	}
	return steps, nil
}

// Sender is where a sequence goes: the console's writer.
type Sender interface {
	Write(p []byte) (int, error)
	Break() error
}

// Send sends seq's steps in order, pausing seq.Delay at each pause. It stops
// at the first error, or when ctx ends.
func Send(ctx context.Context, to Sender, seq Seq) error {
	for _, st := range seq.Steps {
		var err error
		switch {
		case st.Break:
			err = to.Break()
		case st.Pause:
			t := time.NewTimer(seq.Delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return context.Cause(ctx)
			}
		default:
			_, err = to.Write(st.Data)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
