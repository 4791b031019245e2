package frontend

import (
	"consoled/config"
	"consoled/termsafe"
	"consoled/vterm"
)

// ScreenBytes is how much of a console's recent output is run through a
// virtual terminal to find its current screen: a console nobody attaches
// to costs nothing, and an attach costs this read and the screen's cells.
const ScreenBytes = 64 << 10

// ScreenSize is a console's screen, rows x cols.
type ScreenSize struct{ Rows, Cols int }

// DefaultScreen is the size of a console whose machine does not say
// (a BIOS, a serial getty): 24 x 80.
var DefaultScreen = ScreenSize{Rows: 24, Cols: 80}

// screenSizes are the screen sizes a configuration sets (an exec console's
// pty size), for the consoles whose size is not DefaultScreen.
func screenSizes(cfg *config.Config) map[string]ScreenSize {
	sizes := map[string]ScreenSize{}
	for _, c := range cfg.Consoles {
		s := DefaultScreen
		if c.Exec != nil && c.Exec.Rows > 0 {
			s.Rows = c.Exec.Rows
		}
		if c.Exec != nil && c.Exec.Cols > 0 {
			s.Cols = c.Exec.Cols
		}
		if s != DefaultScreen {
			sizes[c.Name] = s
		}
	}
	return sizes
}

// Screen is the console's current screen painted for a terminal, when
// its machine draws a full screen (a BIOS menu, a boot loader, top: cursor
// addressing or the alternate screen in its last ScreenBytes of output,
// not scrolled away since); ok is false for a console that prints lines,
// which a replay of its last lines shows better. The painting is made safe
// by termsafe.Replay: it cannot make a terminal answer.
func (s *Session) Screen() (paint []byte, ok bool) {
	if s.Access() == NoAccess {
		return nil, false
	}
	out, err := s.con.RecentOutput(ScreenBytes)
	if err != nil || len(out) == 0 {
		return nil, false
	}
	size, known := s.c.Policy().Screens[s.Name()]
	if !known {
		size = DefaultScreen
	}
	t := vterm.New(size.Rows, size.Cols)
	t.Write(out)
	if !t.FullScreen() {
		return nil, false
	}
	return termsafe.Replay(t.Paint()), true
}
