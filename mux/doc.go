// Package mux holds one console: it owns the backend connection (dial,
// reconnect with jittered exponential backoff), writes every byte the
// backend produces to the console's log first, whether or not anyone is
// attached, and then fans it out to attached clients.
//
// Each client has an outbox. The reader never waits for a client: output
// waits in the outbox while the client sends what came before. A client
// that has taken nothing from its outbox for Config.StallAfter while output
// waited (it stopped reading) is cut off with ErrStalled when more output
// comes; one that reads,
// however large a burst, stays. As a bound on memory, a client with
// Config.ClientBuffer bytes waiting is cut off with ErrTooSlow. So one
// stalled viewer cannot slow the backend, the log or the other viewers.
//
// One client at a time is the writer; its keystrokes and BREAKs reach the
// backend. The others watch. The mux knows nothing of SSH: a client is a
// name and an address.
//
// # Who reads a console: the idle clock's hand-off
//
// A console's life (run.go) is a state machine, not a goroutine: a
// goroutine runs it only while there is work (dialing, reading for an
// attached client, going down); the wait to reconnect is a timer, and its
// stop a context.AfterFunc. A goroutine reads the backend while someone is
// attached. When a read finds nobody attached and less than a buffer
// full, it hands the console to the idle clock (Console.idle: one sweep
// per console, one clock per IdleRead interval shared by all) and ends.
// At each tick the clock TryReads every console handed to it, logs what
// it got, parks the quiet ones (backend.Parker) and keeps a console only
// while it still has output and nobody watches; otherwise it ends the
// sweep, which resumes the console on a new goroutine (Console.resume)
// that blocks in Read again, or takes the connection down on an error.
// So a quiet console whose connection parks (telnet's) holds no goroutine
// and costs nothing until it prints; one that cannot park (serial, exec,
// ipmi) goes back to a goroutine waiting in Read.
// Attach stops a sweep at once (sweep.stop, which waits for a read in
// progress under sweep.mu), so an attached client never waits for a tick;
// the last client's detach asks a reader waiting in Read to return
// (backend.Yielder), so a console that stays silent goes back to its clock.
// Console.sweeping is the sweep in progress.
package mux
