package ipmi

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A BMC that stops answering (ipmi_sim stopped with SIGSTOP, its socket
// still there) ends the session a few seconds after it last spoke, though
// the machine is quiet and nothing is typed: the loop probes a silent BMC.
func TestSOLNoticesStoppedBMC(t *testing.T) {
	b := startBMC(t)
	host := b.hostSerial()
	c, err := (&Dialer{Options: b.opt}).Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	host.Write([]byte("last words\r\n"))
	readUntil(t, c, []byte("last words\r\n"), 10*time.Second)
	lastData := time.Now()
	b.Pause()
	defer b.Resume()

	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, 256)
		for {
			if _, err := c.Read(buf); err != nil {
				errc <- err
				return
			}
		}
	}()
	// Designed for about probeIdle + maxTries*retransmit (5 s); before,
	// it took 13 to 16 s. The bound leaves room for a loaded machine.
	const bound = 10 * time.Second
	select {
	case err := <-errc:
		took := time.Since(lastData)
		t.Logf("noticed %v after the last data: %v", took.Round(100*time.Millisecond), err)
		if took > bound {
			t.Errorf("a stopped BMC was noticed %v after its last data; want under %v", took, bound)
		}
		if !strings.Contains(err.Error(), "stopped acknowledging SOL packets") {
			t.Errorf("reason: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a stopped BMC was not noticed within 30 s")
	}
}
