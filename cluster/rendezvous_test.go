package cluster

import (
	"fmt"
	"testing"
)

func TestOwnerSpreadsAndMovesFew(t *testing.T) {
	three := []string{"gw1", "gw2", "gw3"}
	four := append(three[:3:3], "gw4")
	count := map[string]int{}
	moved := 0
	const n = 3000
	for i := range n {
		c := fmt.Sprintf("db%04d", i)
		o3, o4 := Owner(c, three), Owner(c, four)
		count[o3]++
		if o3 != o4 {
			moved++
			if o4 != "gw4" {
				t.Fatalf("%s moved from %s to %s, not to the new member", c, o3, o4)
			}
		}
		if o := Owner(c, []string{"gw3", "gw1", "gw2"}); o != o3 {
			t.Fatalf("%s: owner depends on the order of members: %s vs %s", c, o, o3)
		}
	}
	for _, m := range three {
		if count[m] < n/3-n/10 || count[m] > n/3+n/10 {
			t.Errorf("%s holds %d of %d consoles: not spread", m, count[m], n)
		}
	}
	if moved < n/4-n/10 || moved > n/4+n/10 {
		t.Errorf("a fourth member took %d of %d consoles; want about a quarter", moved, n)
	}
	// A member leaving moves only its own consoles.
	for i := range n {
		c := fmt.Sprintf("db%04d", i)
		if o := Owner(c, three); o != "gw2" && Owner(c, []string{"gw1", "gw3"}) != o {
			t.Fatalf("%s moved although its holder %s stayed", c, o)
		}
	}
	if Owner("x", nil) != "" {
		t.Error("no members: want no owner")
	}
}
