// Package frontend is what people may do with the consoles, whatever the
// transport: who may see, watch, type on, BREAK or power a console, and the
// audit record of every such action. The transports (frontend/sshd, the SSH
// server) are adapters on it; it knows consoles only through the mux package.
package frontend

// Access is what a user may do on a console.
type Access int

// Access levels.
const (
	NoAccess  Access = iota // the console does not exist for this user
	ReadOnly                // watch, read logs
	ReadWrite               // also type, BREAK, power, take over
)

func (a Access) String() string {
	return [...]string{"none", "ro", "rw"}[a]
}

// AccessFunc says what user may do on console.
type AccessFunc func(user, console string) Access
