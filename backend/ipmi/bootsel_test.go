package ipmi

import (
	"context"
	"strings"
	"testing"
	"time"

	"consoled/internal/testharness"
)

// Boot device and System Event Log against ipmi_sim: bootdev lands in the
// simulator's chassis log, an entry added at run time is read back as
// people read it, and the log can be cleared.
func TestBootDeviceAndEvents(t *testing.T) {
	bmc := testharness.StartBMC(t, "CONSOLE_PORT=auto")
	p := &Power{Options: Options{Address: bmc.Addr, User: bmc.User, Password: bmc.Pass, CipherSuite: 3}}
	ctx := context.Background()

	if err := p.BootDevice(ctx, "pxe", false, false); err != nil {
		t.Fatal(err)
	}
	testharness.ReadFileUntil(t, bmc.Env["POWER_LOG"], "set boot pxe", 10*time.Second)
	if err := p.BootDevice(ctx, "floppy", false, false); err == nil || !strings.Contains(err.Error(), "unknown boot device") {
		t.Errorf("an unknown device: %v", err)
	}

	before, err := p.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bmc.Cmd("sel_add 0x20 0x02 0x00 0x00 0x00 0x00 0x20 0x00 0x04 0x01 0x30 0x01 0x59 0x50 0x4b")
	bmc.Cmd("sel_add 0x20 0x02 0x00 0x00 0x00 0x00 0x20 0x00 0x04 0x01 0x31 0xef 0x01 0xff 0xff")
	evs, err := p.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != len(before)+2 {
		t.Fatalf("events: %+v", evs)
	}
	got := []string{evs[len(evs)-2].Describe(), evs[len(evs)-1].Describe()}
	want := []string{"Temperature #0x30 asserted: Upper Critical - going high (critical)", "Temperature #0x31 deasserted"}
	if !strings.HasPrefix(got[0], want[0]) || !strings.HasPrefix(got[1], want[1]) {
		t.Errorf("events read as %q, want %q", got, want)
	}
	if err := p.ClearEvents(ctx); err != nil {
		t.Fatal(err)
	}
	if evs, err := p.Events(ctx); err != nil || len(evs) != 0 {
		t.Errorf("after clearing: %+v %v", evs, err)
	}
}
