package ipmi

import (
	"context"
	"fmt"

	"github.com/bougou/go-ipmi/pkg/command/chassis"
)

// Power controls a machine's chassis power through its BMC, each call on a
// session of its own (never the SOL session: other commands on it would
// disturb the console stream).
type Power struct {
	Options
}

// PowerActions are the actions Do accepts.
var PowerActions = []string{"status", "on", "off", "cycle", "reset"}

// Do runs one action and returns the result for people, e.g. "power is on".
func (p *Power) Do(ctx context.Context, action string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	var control chassis.ChassisControl
	switch action {
	case "status":
	case "on":
		control = chassis.ChassisControlPowerUp
	case "off":
		control = chassis.ChassisControlPowerDown
	case "cycle":
		control = chassis.ChassisControlPowerCycle
	case "reset":
		control = chassis.ChassisControlHardReset
	default:
		return "", fmt.Errorf("unknown power action %q: want status, on, off, cycle or reset", action)
	}
	c, err := p.connect(ctx, nil)
	if err != nil {
		return "", err
	}
	defer c.Close(context.WithoutCancel(ctx))
	if action == "status" {
		st, err := c.GetChassisStatus(ctx)
		if err != nil {
			return "", fmt.Errorf("reading chassis status from %s: %w", p.Address, err)
		}
		if st.PowerIsOn {
			return "power is on", nil
		}
		return "power is off", nil
	}
	if _, err := c.ChassisControl(ctx, control); err != nil {
		return "", fmt.Errorf("power %s through %s: %w", action, p.Address, err)
	}
	return "power " + action + ": done", nil
}
