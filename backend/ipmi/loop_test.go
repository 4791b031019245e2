package ipmi

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bougou/go-ipmi/pkg/client"
)

// The liveness budget, on the loop's own clock: a BMC that says nothing is
// asked to answer after probeIdle, asked maxTries times retransmit apart,
// and given up on after that: about 5 s after it last spoke. (The real
// thing, a stopped ipmi_sim, is TestSOLNoticesStoppedBMC.)
func TestSOLLoopGivesUpOnASilentBMC(t *testing.T) {
	bmc, err := net.ListenPacket("udp", "127.0.0.1:0") // hears the probes, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer bmc.Close()
	sock, err := net.Dial("udp", bmc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	c, err := client.NewClient("127.0.0.1", bmc.LocalAddr().(*net.UDPAddr).Port, "admin", "x")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	l := &solLoop{c: c, sock: sock, addr: "bmc", inSize: 251, deliver: func([]byte) {}, lastSent: t0, lastRecv: t0}

	var sends []time.Duration
	received := func() int {
		n := 0
		buf := make([]byte, 512)
		for {
			bmc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			if _, _, err := bmc.ReadFrom(buf); err != nil {
				return n
			}
			n++
		}
	}
	for now := t0; now.Sub(t0) < 30*time.Second; now = now.Add(tickEvery) {
		err := l.tick(now)
		if n := received(); n > 0 {
			sends = append(sends, now.Sub(t0))
		}
		if err != nil {
			took := now.Sub(t0)
			if want := probeIdle + maxTries*retransmit; took != want {
				t.Errorf("gave up %v after the BMC last spoke, want %v", took, want)
			}
			if len(sends) != maxTries || sends[0] != probeIdle {
				t.Errorf("probes at %v, want %d from %v on", sends, maxTries, probeIdle)
			}
			if !strings.Contains(err.Error(), "stopped acknowledging SOL packets") {
				t.Errorf("reason: %v", err)
			}
			return
		}
	}
	t.Fatalf("a silent BMC was not given up on in 30 s; probes at %v", sends)
}
