package ipmi

import (
	"context"
	"errors"
	"testing"
)

// TakeBackStale takes an active SOL payload once, says so through
// OnTakeBack only when there was one to take, and is spent after the BMC
// answered: a later holder is refused like without it.
func TestTakeBackStaleOnce(t *testing.T) {
	b := startBMC(t)
	ctx := context.Background()
	dial := func(d *Dialer) *conn {
		t.Helper()
		c, err := d.Dial(ctx)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		return c.(*conn)
	}

	// A session left active (as by a consoled killed while holding it).
	stale := dial(&Dialer{Options: b.opt})
	defer stale.Close()
	took := 0
	d := &Dialer{Options: b.opt, OnTakeBack: func() { took++ }}
	d.TakeBackStale()
	c := dial(d)
	if took != 1 {
		t.Errorf("OnTakeBack called %d times for one session taken back", took)
	}
	c.Close() // a clean close deactivates

	// Spent: someone else's session is refused, and nothing is taken.
	other := dial(&Dialer{Options: b.opt})
	if _, err := d.Dial(ctx); !errors.Is(err, ErrSOLInUse) {
		t.Errorf("a second dial of the same dialer while someone holds SOL: %v, want ErrSOLInUse", err)
	}
	other.Close()
	if took != 1 {
		t.Errorf("OnTakeBack called %d times in all, want 1", took)
	}

	// Armed with nothing active: it connects, says nothing, and is spent.
	quiet := 0
	d2 := &Dialer{Options: b.opt, OnTakeBack: func() { quiet++ }}
	d2.TakeBackStale()
	dial(d2).Close()
	other = dial(&Dialer{Options: b.opt})
	defer other.Close()
	if _, err := d2.Dial(ctx); !errors.Is(err, ErrSOLInUse) {
		t.Errorf("after an armed dial found nothing to take, the next took: %v", err)
	}
	if quiet != 0 {
		t.Errorf("OnTakeBack called %d times with nothing to take back", quiet)
	}
}
