package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consoled/logstore"
)

// cpr is what a terminal answers to a cursor position query (ESC[6n).
const cpr = "\x1b[5;6R"

// answerQueries does what a terminal emulator does with the cursor
// position queries in the output ssh printed since *seen: it answers each
// on the terminal's input, as if typed. It returns how many it answered.
func (tm *term) answerQueries(seen *int) int {
	tm.t.Helper()
	s := tm.out.String()
	n := strings.Count(s[*seen:], "\x1b[6n")
	for i := 0; i < n; i++ {
		tm.Send(cpr)
	}
	if n > 0 {
		*seen += strings.LastIndex(s[*seen:], "\x1b[6n") + 4
	} else {
		*seen = max(*seen, len(s)-3) // a query may be arriving
	}
	return n
}

// Replay must not type into the machine: busybox ash ends each prompt
// with ESC[6n, and a newcomer's terminal shown the replay would answer it
// into the machine. Against the qemu guest's ash, with the real ssh client
// in a pty answering queries like a terminal: alice's replays (on attach,
// ^Ecr, ^Ecp) hold no query (cat -v in the guest receives nothing before
// what she types), the answers to live queries reach the machine from the
// writer, and bob, read-only, is not told his keystrokes are not sent when his
// terminal answers the machine's live query, nor recorded as typing.
func TestReplayDoesNotType(t *testing.T) {
	g := sharedGuest(t)
	alice, bob := newKey(t, "alice"), newKey(t, "bob")
	d := startConsoled(t, userBlock("alice", alice)+userBlock("bob", bob)+fmt.Sprintf(`
replay_lines = 20
console "vm1" {
  telnet { address = "127.0.0.1:%d" }
  rw = ["alice"]
  ro = ["bob"]
}
`, g.Port))
	d.waitState(alice, "vm1", "up")
	t.Cleanup(func() { // the guest is shared: leave no cat -v running
		if t.Failed() {
			d.ssh(alice, "", "send", "-n", "--force", "vm1", "\x03")
		}
	})
	logPath := filepath.Join(d.Dir, "logs", "vm1.log")
	send := func(line string) {
		t.Helper()
		if _, errOut, code := d.ssh(alice, "", "send", "vm1", line); code != 0 {
			t.Fatalf("send %q: exit %d %s", line, code, errOut)
		}
	}
	send("echo replay-$((6*7))")
	machineUntil(t, logPath, "replay-42\r\n/ # \x1b[6n", 30*time.Second)
	send("cat -v") // shows what the guest receives from here on
	machineUntil(t, logPath, "cat -v\r\n", 30*time.Second)

	tm := d.interactive(alice, "console", "vm1")
	tm.Expect(`replay-42`, 30*time.Second) // the replay, dimmed
	tm.Expect(`attached to vm1 read-write`, 30*time.Second)
	seen := 0
	if n := tm.answerQueries(&seen); n != 0 {
		t.Errorf("the replay made alice's terminal answer %d queries", n)
	}
	for _, esc := range []string{"r", "p"} { // ^Ecr, ^Ecp: the last 20, 60 lines
		tm.Send("\x05c" + esc)
		tm.Expect(`replay-42(.|\n)*end of replay`, 30*time.Second)
		if n := tm.answerQueries(&seen); n != 0 {
			t.Errorf("^Ec%s made alice's terminal answer %d queries", esc, n)
		}
	}
	tm.Send("typed-by-alice\r")
	log := machineUntil(t, logPath, "typed-by-alice\r\ntyped-by-alice\r\n", 30*time.Second) // the tty's echo, then cat's
	after := log[strings.LastIndex(log, "cat -v\r\n"):]
	if strings.Contains(after, "^[") { // cat -v and the tty's echo show ESC as ^[
		t.Errorf("the guest received more than alice typed:\n%q", after)
	}
	tm.Send("\x03") // end cat -v
	machineUntil(t, logPath, "typed-by-alice\r\n^C", 30*time.Second)
	// A live query is the machine asking the writer's terminal: its answer
	// reaches the machine.
	tm.Send("printf '\\033[6n'; cat -v\r")
	tm.Expect(`cat -v\r+\n\x1b\[6n`, 30*time.Second)
	if n := tm.answerQueries(&seen); n == 0 { // printf's, and the prompt's before it
		t.Fatalf("alice's terminal saw no live query")
	}
	tm.Send("after-answer\r")
	machineUntil(t, logPath, "^[[5;6Rafter-answer\r\n", 30*time.Second)
	tm.Send("\x03")
	machineUntil(t, logPath, "after-answer\r\n^C\r\n/ # \x1b[6n", 30*time.Second) // back at the prompt
	tm.Send("\x05c.")
	tm.Wait(30 * time.Second)

	bt := d.interactive(bob, "console", "vm1")
	bt.Expect(`attached to vm1 read-only`, 30*time.Second)
	seen = 0
	if n := bt.answerQueries(&seen); n != 0 {
		t.Errorf("the replay made bob's terminal answer %d queries", n)
	}
	send("echo live-$((1+1))")
	bt.Expect(`live-2\r+\n/ # \x1b\[6n`, 30*time.Second)
	if n := bt.answerQueries(&seen); n == 0 {
		t.Fatalf("bob's terminal saw no live query")
	}
	bt.Send("\x05cw") // handled after the answer: a sync point
	bt.Expect(`on vm1:\r\n  bob`, 30*time.Second)
	if strings.Contains(bt.out.String(), "keystrokes are not sent") {
		t.Errorf("bob was told he typed when his terminal answered the machine:\n%q", bt.out.String())
	}
	if n := bobTyped(t, d); n != 0 {
		t.Errorf("the audit log says bob typed (%d records)", n)
	}
	bt.Send("x") // a real keystroke is still refused, and said so
	bt.Expect(`keystrokes are not sent`, 30*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for bobTyped(t, d) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("bob's keystroke is not in the audit log once")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// machineUntil polls a console log until what the machine printed (the
// log without consoled's marks) contains want, and returns that.
func machineUntil(t *testing.T, path, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(path)
		if s := string(logstore.MachineBytes(b)); strings.Contains(s, want) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not contain %q:\n%s", path, want, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bobTyped counts audit records of bob typing on vm1.
func bobTyped(t *testing.T, d *daemon) int {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(d.Dir, "logs", "audit.log"))
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var ev struct{ User, Console, Action string }
		if json.Unmarshal([]byte(line), &ev) == nil && ev.User == "bob" && ev.Console == "vm1" && ev.Action == "type" {
			n++
		}
	}
	return n
}
