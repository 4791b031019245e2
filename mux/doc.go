// Package mux holds one console: it owns the backend connection (dial,
// reconnect with jittered exponential backoff), writes every byte the
// backend produces to the console's log first, whether or not anyone is
// attached, and then fans it out to attached clients.
//
// Each client has a bounded outbox. The reader never waits for a client: a
// client whose outbox overflows is cut off with ErrTooSlow, so one stalled
// viewer cannot slow the backend, the log or the other viewers.
//
// One client at a time is the writer; its keystrokes and BREAKs reach the
// backend. The others watch. The mux knows nothing of SSH: a client is a
// name and an address.
package mux
