package mux

import (
	"strings"

	"consoled/logstore"
)

// Connection marks: a started console (Start, or Run) marks every
// connection it makes EventUp in its log when it comes up, and with a
// mark that starts with EventDown when it ends, however it ends (it
// dropped, consoled stops, the console is removed or changed by a reload)
// — unless consoled itself dies (kill -9, a crash, the machine's power).
const (
	EventUp   = "console up"
	EventDown = "console down"
)

// DiedUp reads console name's log in dir and says whether consoled's
// previous run died while the console was up: the last connection mark
// is EventUp, with no EventDown after it. Call it before the console starts.
func DiedUp(dir, name string) (bool, error) {
	m, ok, err := logstore.LastMark(dir, name, func(m logstore.Mark) bool {
		return m.Event == EventUp || strings.HasPrefix(m.Event, EventDown)
	})
	return ok && m.Event == EventUp, err
}
