package ipmi

import (
	"context"
	"fmt"

	"github.com/bougou/go-ipmi/pkg/types"

	"consoled/backend"
)

// BootDevices are the devices BootDevice knows.
var BootDevices = map[string]types.BootDeviceSelector{
	"pxe":   types.BootDeviceSelectorForcePXE,
	"disk":  types.BootDeviceSelectorForceHardDrive,
	"bios":  types.BootDeviceSelectorForceBIOSSetup,
	"cdrom": types.BootDeviceSelectorForceCDROM,
}

// BootDevice sets the device the machine boots from next (every boot with
// persistent; EFI boot with efi), on a session of its own.
func (p *Power) BootDevice(ctx context.Context, dev string, persistent, efi bool) error {
	sel, ok := BootDevices[dev]
	if !ok {
		return fmt.Errorf("unknown boot device %q: want pxe, disk, bios or cdrom", dev)
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := p.connect(ctx, nil)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	bootType := types.BIOSBootTypeLegacy
	if efi {
		bootType = types.BIOSBootTypeEFI
	}
	if err := c.SetBootDevice(ctx, sel, bootType, persistent); err != nil {
		return fmt.Errorf("setting boot device %s through %s: %w", dev, p.Address, err)
	}
	return nil
}

// Events reads the BMC's System Event Log, oldest first.
func (p *Power) Events(ctx context.Context) ([]backend.BMCEvent, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := p.connect(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	info, err := c.GetSELInfo(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the event log of %s: %w", p.Address, err)
	}
	if info.Entries == 0 {
		return nil, nil
	}
	sels, err := c.GetSELEntries(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("reading the event log of %s: %w", p.Address, err)
	}
	out := make([]backend.BMCEvent, 0, len(sels))
	for _, s := range sels {
		out = append(out, event(s))
	}
	return out, nil
}

// event is a SEL record for people.
func event(s *types.SEL) backend.BMCEvent {
	ev := backend.BMCEvent{ID: s.RecordID, Asserted: true}
	switch {
	case s.Standard != nil:
		st := s.Standard
		if st.Timestamp.Unix() > 0x20000000 { // earlier: seconds since the BMC started, not a date
			ev.Time = st.Timestamp.UTC()
		}
		ev.Sensor = fmt.Sprintf("%s #0x%02x", st.SensorType, uint8(st.SensorNumber))
		ev.Event = st.EventString()
		ev.Asserted = st.EventDir == types.EventDirAssertion
		ev.Critical = st.EventSeverity() == types.EventSeverityCritical
	case s.OEMTimestamped != nil:
		ev.Time = s.OEMTimestamped.Timestamp.UTC()
		ev.Sensor = fmt.Sprintf("OEM record type 0x%02x", uint8(s.RecordType))
	default:
		ev.Sensor = fmt.Sprintf("OEM record type 0x%02x", uint8(s.RecordType))
	}
	return ev
}

// ClearEvents erases the BMC's System Event Log.
func (p *Power) ClearEvents(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	c, err := p.connect(ctx, nil)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	res, err := c.ReserveSEL(ctx)
	if err != nil {
		return fmt.Errorf("reserving the event log of %s: %w", p.Address, err)
	}
	if _, err := c.ClearSEL(ctx, res.ReservationID); err != nil {
		return fmt.Errorf("clearing the event log of %s: %w", p.Address, err)
	}
	return nil
}
