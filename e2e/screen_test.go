package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// Someone attaching to a console whose machine sits in a full-screen menu
// sees that screen at once, in place: the title at the top (drawn long
// before the last 20 lines a line replay shows), the highlighted entry
// where the machine put it, the footer on the last row. Seen in a real
// terminal emulator (tmux) with the real ssh client.
func TestAttachShowsCurrentScreen(t *testing.T) {
	need(t, "tmux", have("tmux"))
	alice := newKey(t, "alice")
	dir := t.TempDir()
	menu := filepath.Join(dir, "menu.sh")
	var draw strings.Builder
	draw.WriteString(`printf 'booting...\r\n'; i=0; while [ $i -lt 40 ]; do printf 'POST line %d\r\n' $i; i=$((i+1)); done` + "\n")
	draw.WriteString(`printf '\033[2J\033[H                         Boot Menu\r\n'` + "\n")
	for r := 2; r <= 23; r++ {
		fmt.Fprintf(&draw, "printf '  row %02d\\r\\n'\n", r)
	}
	draw.WriteString(`printf '  Enter: select   Esc: exit'` + "\n")
	draw.WriteString(`printf '\033[5;1H\033[7m  row 05 <selected>\033[0m\033[24;28H'` + "\n")
	draw.WriteString("exec sleep 100000\n")
	os.WriteFile(menu, []byte("#!/bin/sh\nstty -echo\n"+draw.String()), 0o755)
	d := startConsoled(t, userBlock("alice", alice)+fmt.Sprintf("console \"bios\" {\n  exec { command = [%q] }\n}\n", menu))
	d.waitState(alice, "bios", "up")
	testharness.ReadFileUntil(t, filepath.Join(d.Dir, "logs", "bios.log"), "<selected>", 20*time.Second)

	session := fmt.Sprintf("consoled-screen-%d", os.Getpid())
	sshCmd := "ssh " + strings.Join(d.sshArgs(alice, "console", "-t"), " ") + " bios"
	if out, err := exec.Command("tmux", "-L", session, "new-session", "-d", "-s", session, "-x", "80", "-y", "24", sshCmd).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "-L", session, "kill-server").Run() })
	var rows []string
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _ := exec.Command("tmux", "-L", session, "capture-pane", "-p", "-t", session).Output()
		rows = strings.Split(string(out), "\n")
		if len(rows) >= 24 && strings.Contains(rows[23], "Enter: select") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the menu is not on the newcomer's screen:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	want := map[int]string{0: "                         Boot Menu", 1: "  row 02", 4: "  row 05 <selected>", 22: "  row 23", 23: "  Enter: select   Esc: exit"}
	for i, w := range want {
		if strings.TrimRight(rows[i], " ") != w {
			t.Errorf("row %d: %q, want %q", i+1, rows[i], w)
		}
	}
	if all := strings.Join(rows, "\n"); strings.Contains(all, "POST line") {
		t.Errorf("output scrolled away by the menu is shown:\n%s", all)
	}
	// The cursor is where the machine left it.
	if out, _ := exec.Command("tmux", "-L", session, "display-message", "-p", "-t", session, "#{cursor_y},#{cursor_x}").Output(); strings.TrimSpace(string(out)) != "23,27" {
		t.Errorf("cursor at %s, want 23,27", out)
	}
}
