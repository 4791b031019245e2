package frontend

import (
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"time"
)

// AuditEvent is one line of the audit log.
type AuditEvent struct {
	Time time.Time `json:"time"`
	User string    `json:"user"`
	Key  string    `json:"key,omitempty"` // SHA256 fingerprint of the key used
	// A certificate user's certificate: its key ID and serial.
	CertID     string  `json:"cert_id,omitempty"`
	CertSerial *uint64 `json:"cert_serial,omitempty"`
	From       string  `json:"from"`
	Via        string  `json:"via,omitempty"` // the transport, e.g. ssh
	Console    string  `json:"console,omitempty"`
	Action     string  `json:"action"` // login, block, lookup, attach, detach, takeover, type, break, send, power, note, reload, revoke, demote, forward
	Detail     string  `json:"detail,omitempty"`
	Result     string  `json:"result"` // ok, refused: why, failed: why
}

// Auditor writes audit events as JSON lines. A nil *Auditor records nothing.
type Auditor struct {
	mu  sync.Mutex
	w   io.Writer
	log *slog.Logger
}

// NewAuditor writes to w (an append-only file, usually).
func NewAuditor(w io.Writer, log *slog.Logger) *Auditor { return &Auditor{w: w, log: log} }

// Record writes one event.
func (a *Auditor) Record(ev AuditEvent) {
	if a == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.w.Write(append(b, '\n')); err != nil && a.log != nil {
		a.log.Error("writing audit log", "err", err)
	}
}
