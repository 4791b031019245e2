package mux

import (
	"context"

	"consoled/backend"
)

// BMCEvent is one entry of a BMC's System Event Log.
type BMCEvent = backend.BMCEvent

// BootControl is power control that can also choose the device the
// machine boots from next (an IPMI BMC).
type BootControl interface {
	BootDevice(ctx context.Context, dev string, persistent, efi bool) error
}

// EventLog is power control whose BMC keeps a System Event Log.
type EventLog interface {
	Events(ctx context.Context) ([]BMCEvent, error)
	ClearEvents(ctx context.Context) error
}
