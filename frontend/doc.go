// Package frontend is what people may do with the consoles, whatever the
// transport: attach (read-write, read-only, takeover), BREAK and break
// sequences, power, send, note, who, list, logs, panics and reload. Each
// action is one function of Core or Session that decides it against the
// policy in force at that moment (not a copy taken when a session began),
// records it in the audit log and carries it out. A reload that takes
// rights away acts on running sessions at once: a removed user is cut off,
// a demoted writer becomes a viewer and is told.
//
// Transports are adapters on it: frontend/sshd is the SSH server,
// frontend/web the web view (it issues the login links of Core.WebLink).
// They parse what people type, call the core with an Identity, and render its answer;
// refusals come back as errors matching ErrDenied. The core knows consoles
// only through the mux package.
//
// The pieces: Core (core.go) holds the policy in force and the actions
// that need no attachment (list, who, power, send, logs, panics, reload);
// Session (session.go) is one person attached to one console, with the
// actions made there (typing, BREAK, takeover, note); the Auditor
// (audit.go) writes the audit log; PolicyFrom (config.go) builds a Policy
// from a configuration. For many consoles at once: Select (sets.go)
// resolves a console set (package consoleset) to what its user may see,
// Each acts on each console of it and LineWriter keeps their lines whole;
// a Group (group.go) is one person attached to every console of a set (a
// broadcast session). Session.Screen (screen.go) paints a console's
// current screen for a newcomer; BootDevice, PowerBoot and Events
// (bmc.go) drive a console's BMC. A certificate user's Identity carries
// its CA, principals and certificate (see Policy.CAs and CertAccess).
package frontend
