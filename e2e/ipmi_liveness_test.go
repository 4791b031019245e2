package e2e

import (
	"testing"
	"time"

	"consoled/internal/testharness"
)

// A BMC that stops answering (ipmi_sim stopped with SIGSTOP) takes its
// console down a few seconds after its last output, not 16 s later, though
// the machine is quiet; let go on, the console comes back by itself.
func TestIPMIStoppedBMC(t *testing.T) {
	bmc := testharness.StartBMC(t)
	host := bmc.HostSerial()
	alice := newKey(t, "alice")
	d := startConsoled(t, userBlock("alice", alice)+ipmiConsole("db01", bmc, ""))
	d.waitState(alice, "db01", "up")
	tm := d.interactive(alice, "console", "db01")
	tm.Expect(`attached to db01`, 10*time.Second)
	host.Write([]byte("last words\r\n"))
	tm.Expect(`last words`, 10*time.Second)
	lastData := time.Now()
	bmc.Pause()
	resumed := false
	defer func() {
		if !resumed {
			bmc.Resume()
		}
	}()
	tm.Expect(`console down: BMC \S+ stopped acknowledging SOL packets`, 30*time.Second)
	took := time.Since(lastData)
	t.Logf("console down %v after the BMC's last output", took.Round(100*time.Millisecond))
	// Designed for about 5 s (it was 16 s); the bound leaves room for a
	// loaded machine.
	if bound := 11 * time.Second; took > bound {
		t.Errorf("a stopped BMC took its console down %v after its last output; want under %v", took, bound)
	}
	bmc.Resume()
	resumed = true
	tm.Expect(`console up`, 90*time.Second)
	host.Write([]byte("back again\r\n"))
	tm.Expect(`back again`, 10*time.Second)
}
