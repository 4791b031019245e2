package sshd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"consoled/frontend"
	"consoled/internal/cmdargs"
	"consoled/internal/logcmd"
	"consoled/mux"
)

// dispatch runs the command line and returns the exit status.
func (s *Server) dispatch(ss *session) int {
	if len(ss.args) == 0 {
		s.help(ss)
		return 0
	}
	switch ss.args[0] {
	case "list":
		return s.list(ss)
	case "help", "-h", "--help":
		s.help(ss)
		return 0
	case "power":
		return s.power(ss)
	case "break":
		return s.breakCmd(ss)
	case "send":
		return s.send(ss)
	case "who":
		return s.who(ss)
	case "logs":
		return s.logs(ss)
	case "panics":
		return s.panicList(ss)
	case "reload":
		return s.reload(ss)
	case "bootdev":
		return s.bootdev(ss)
	case "sel":
		return s.sel(ss)
	case "web":
		return s.webLink(ss)
	case "attach", "console":
		if len(ss.args) < 2 {
			fmt.Fprintf(ss.Stderr(), "usage: %s NAME [--force|--spy]\n", ss.args[0])
			return 2
		}
		ss.args = ss.args[1:]
	}
	return s.attach(ss)
}

// fail tells the user why an action on console did not happen and returns
// the exit status: 2 for a refusal or an unknown console, 1 otherwise.
// what names the action as people asked for it ("power cycle").
func (s *Server) fail(ss *session, what, console string, err error) int {
	var d *frontend.DeniedError
	switch {
	case errors.As(err, &d):
		if console != "" {
			what += " " + console
		}
		fmt.Fprintf(ss.Stderr(), "consoled: %s refused: %s\n", what, d.Why)
		return 2
	case errors.Is(err, frontend.ErrNoConsole):
		fmt.Fprintf(ss.Stderr(), "consoled: no console %q\n", console)
		return 2
	}
	fmt.Fprintf(ss.Stderr(), "consoled: %v\n", err)
	return 1
}

func (s *Server) help(ss *session) {
	nl := "\n"
	if _, _, pty := ss.Pty(); pty {
		nl = "\r\n"
	}
	lines := []string{
		"consoled: serial consoles over SSH",
		"",
		"  ssh -t console@HOST NAME     interactive console NAME (" + s.escapeStr() + "? inside for escapes)",
		"  ssh console@HOST NAME        raw bytes in and out, for scripts (no escapes)",
		"  ssh console@HOST list        consoles: name backend state writer viewers [problem]",
		"  ssh console@HOST list --json [SET]",
		"  ssh console@HOST NAME --force      scripts: take write access from whoever has it",
		"  ssh console@HOST NAME --spy        watch only",
		"  ssh console@HOST who NAME|SET",
		"  ssh console@HOST send [--force] [-n] [--yes] NAME|SET TEXT   type TEXT (and Enter, unless -n)",
		"  ssh console@HOST break NAME|SET [KEYS] [--seq N] [--wait 10s] [--expect REGEX] [--force] [--yes]",
		"                               BREAK (or sequence N), then KEYS; exit 0 if REGEX matched, 1 if not, 2 if refused",
		"  ssh console@HOST power NAME|SET status|on|off|cycle|reset [--yes]",
		"  ssh console@HOST logs NAME|SET [--since 2h|2026-11-23T03:00] [--until T] [--tail N] [--grep REGEX]",
		"                               [--context N] [--follow] [--timestamps] [--raw]",
		"  ssh console@HOST panics [--since 24h] [NAME|SET...]   crashes seen on the consoles, newest first",
		"  ssh console@HOST power NAME|SET cycle --pxe     boot from the network next, then cycle (reinstall)",
		"  ssh console@HOST bootdev NAME|SET pxe|disk|bios|cdrom [--persistent] [--efi]",
		"  ssh console@HOST sel NAME [--clear]   the BMC's System Event Log",
		"  ssh console@HOST reload      re-read the configuration (admins only)",
		"  ssh console@HOST web         a one-time link to log in to the web view (valid 60 s)",
		"  ssh console@HOST help        this text",
		"  SET: web* web[01-20] r[1-3]u[01-10] @tag, joined with , (union) - (exclude) & (intersect);",
		"       --yes confirms an action on more than one console in a script",
		"",
	}
	for _, l := range lines {
		io.WriteString(ss, l+nl)
	}
	s.writeList(ss, nl)
}

func (s *Server) list(ss *session) int {
	a, err := cmdargs.Parse(ss.args[1:], nil, []string{"json"})
	if err != nil || len(a.Pos) > 1 {
		fmt.Fprintf(ss.Stderr(), "usage: list [--json] [SET]\n")
		return 2
	}
	json := a.Flags["json"] != ""
	switch {
	case len(a.Pos) == 1:
		return s.listSet(ss, a.Pos[0], json)
	case json && s.opts.Cluster != nil && !ss.forwarded:
		writeJSONRows(ss, s.clusterRows(ss))
	case json:
		s.writeJSONEntries(ss, s.core.List(ss.id))
	default:
		s.writeList(ss, "\n")
	}
	return 0
}

// listRow is one console in a listing (list --json shows these fields).
type listRow struct {
	Name    string    `json:"name"`
	Backend string    `json:"backend"`
	Detail  string    `json:"detail,omitempty"`
	State   string    `json:"state"`
	Since   time.Time `json:"since"`
	Error   string    `json:"error,omitempty"`
	LogErr  string    `json:"log_error,omitempty"`
	Writer  string    `json:"writer,omitempty"`
	Viewers int       `json:"viewers"`
	Access  string    `json:"access"`
	Gateway string    `json:"gateway,omitempty"` // in a cluster: who holds it
	unheld  bool      // no live gateway holds it; Error says why
}

// rows is list as rows; in a cluster each names this gateway.
func (s *Server) rows(list []frontend.Entry) []listRow {
	out := []listRow{}
	gw := ""
	if s.opts.Cluster != nil {
		gw = s.opts.Cluster.Self()
	}
	for _, st := range list {
		e := listRow{Name: st.Name, Backend: st.Kind, Detail: st.Detail, State: string(st.State), Since: st.Since.UTC(),
			Writer: st.Writer, Viewers: st.Viewers, Access: st.Access.String(), Gateway: gw}
		if st.State != mux.StateUp && st.Err != nil {
			e.Error = frontend.OneLine(st.Err.Error())
		}
		if st.LogErr != nil {
			e.LogErr = frontend.OneLine(st.LogErr.Error())
		}
		out = append(out, e)
	}
	return out
}

func (s *Server) writeJSONEntries(ss *session, list []frontend.Entry) {
	writeJSONRows(ss, s.rows(list))
}

func writeJSONRows(w io.Writer, rows []listRow) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(rows)
}

func (s *Server) writeList(ss *session, nl string) {
	if s.opts.Cluster != nil && !ss.forwarded {
		s.writeRows(ss, s.clusterRows(ss), nl)
		return
	}
	s.writeEntries(ss, s.core.List(ss.id), nl)
}

func (s *Server) writeEntries(ss *session, list []frontend.Entry, nl string) {
	s.writeRows(ss, s.rows(list), nl)
}

// writeRows writes a listing: name backend state writer viewers, then
// the gateway holding it in a cluster, then any problem.
func (s *Server) writeRows(w io.Writer, rows []listRow, nl string) {
	width, gwWidth := 4, 0
	for _, r := range rows {
		width = max(width, len(r.Name))
		gwWidth = max(gwWidth, len(r.Gateway))
	}
	for _, r := range rows {
		writer := r.Writer
		if writer == "" {
			writer = "-"
		}
		line := fmt.Sprintf("%-*s %-7s %-10s %-10s %d", width, r.Name, r.Backend, r.State, writer, r.Viewers)
		if s.opts.Cluster != nil {
			gw := r.Gateway
			if gw == "" {
				gw = "-"
			}
			line += fmt.Sprintf("  %-*s", max(gwWidth, 1), gw)
		}
		switch {
		case r.unheld:
			line += "  down (" + r.Error + ")"
		case r.State != string(mux.StateUp) && r.Error != "":
			line += fmt.Sprintf("  since %s: %s", r.Since.Format(time.RFC3339), r.Error)
		}
		if r.LogErr != "" {
			line += "  LOG NOT WRITTEN: " + r.LogErr
		}
		io.WriteString(w, line+nl)
	}
}

// who: who NAME|SET lists the people attached.
func (s *Server) who(ss *session) int {
	if len(ss.args) != 2 {
		fmt.Fprintf(ss.Stderr(), "usage: who NAME|SET\n")
		return 2
	}
	if frontend.IsSet(ss.args[1]) {
		return s.whoSet(ss, ss.args[1])
	}
	clients, err := s.core.Who(ss.id, ss.args[1])
	if err != nil {
		return s.fail(ss, "who", ss.args[1], err)
	}
	for _, ci := range clients {
		fmt.Fprintf(ss, "%s\n", whoLine(ci))
	}
	return 0
}

// whoLine describes one attached client.
func whoLine(ci mux.ClientInfo) string {
	mode := "ro"
	if ci.Writer {
		mode = "rw"
	}
	return fmt.Sprintf("%-12s %s since %s from %s", ci.Who, mode, ci.Since.UTC().Format(time.RFC3339), ci.From)
}

// power is the `power NAME ACTION` command.
func (s *Server) power(ss *session) int {
	a, err := cmdargs.Parse(ss.args[1:], nil, []string{"yes", "pxe"})
	if err != nil || len(a.Pos) != 2 || !frontend.PowerActions[a.Pos[1]] {
		fmt.Fprintf(ss.Stderr(), "usage: power NAME|SET status|on|off|cycle|reset [--pxe] [--yes]\n")
		return 2
	}
	name, action := a.Pos[0], a.Pos[1]
	if a.Flags["pxe"] != "" {
		return s.powerPXE(ss, name, action, a.Flags["yes"] != "")
	}
	if frontend.IsSet(name) {
		return s.powerSet(ss, name, action, a.Flags["yes"] != "")
	}
	res, err := s.core.Power(ss.ctx, ss.id, name, action)
	switch {
	case errors.Is(err, frontend.ErrNoPower):
		fmt.Fprintf(ss.Stderr(), "consoled: console %s has no power control (add power { ipmi { ... } } to its config)\n", name)
		return 1 // as a power action that failed: the README's "1 with the reason"
	case err != nil:
		return s.fail(ss, "power "+action, name, err)
	}
	fmt.Fprintf(ss, "%s: %s\n", name, res)
	return 0
}

// send: send [--force] [-n] NAME TEXT... types TEXT, then Enter unless -n.
// Options come before TEXT: TEXT is taken as it is, dashes and all.
func (s *Server) send(ss *session) int {
	a, err := cmdargs.ParseUntil(ss.args[1:], nil, []string{"force", "n", "yes"}, 2)
	if err != nil || len(a.Pos) < 2 {
		fmt.Fprintf(ss.Stderr(), "usage: send [--force] [-n] [--yes] NAME|SET TEXT...\n")
		return 2
	}
	name := a.Pos[0]
	text := strings.Join(a.Pos[1:], " ")
	if a.Flags["n"] == "" {
		text += "\r"
	}
	if frontend.IsSet(name) {
		return s.sendSet(ss, name, []byte(text), a.Flags["force"] != "", a.Flags["yes"] != "")
	}
	err = s.core.Send(ss.id, name, []byte(text), a.Flags["force"] != "")
	var d *frontend.DeniedError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &d), errors.Is(err, frontend.ErrNoConsole):
		return s.fail(ss, "send", name, err)
	}
	fmt.Fprintf(ss.Stderr(), "consoled: sending to %s: %v\n", name, err)
	if errors.Is(err, mux.ErrNotUp) {
		return 1
	}
	return 2
}

// logs runs `logs NAME ...` on the log directory, for consoles the user may see.
func (s *Server) logs(ss *session) int {
	ctx, stop := ss.interruptible(ss.ctx) // ^C ends --follow under ssh -t
	defer stop()
	err := s.core.Logs(ctx, ss.id, ss.args[1:], ss)
	switch {
	case errors.Is(err, frontend.ErrRevoked) || errors.Is(err, frontend.ErrDenied):
		fmt.Fprintf(ss.Stderr(), "consoled: %v\n", err)
		ss.told = true
		return 1
	case errors.As(err, new(*frontend.SetError)):
		fmt.Fprintf(ss.Stderr(), "consoled: logs %v\n", err)
		return 1
	case errors.Is(context.Cause(ctx), errInterrupted):
		return exitInterrupted
	case err != nil && ctx.Err() == nil:
		fmt.Fprintf(ss.Stderr(), "consoled: %v\n%s\n", err, logcmd.LogsUsage)
		return 2
	}
	return 0 // done, or --follow ended by the client
}

// panicList runs `panics [--since D] [NAME...]`.
func (s *Server) panicList(ss *session) int {
	if err := s.core.Panics(ss.id, ss.args[1:], ss); err != nil {
		fmt.Fprintf(ss.Stderr(), "consoled: %v\n%s\n", err, logcmd.PanicsUsage)
		return 2
	}
	return 0
}

// reload re-reads the configuration for an admin.
func (s *Server) reload(ss *session) int {
	if len(ss.args) != 1 { // "reload vm1" would re-read everything, not one console
		fmt.Fprintf(ss.Stderr(), "usage: reload (no arguments: it re-reads the whole configuration file)\n")
		return 2
	}
	summary, err := s.core.Reload(ss.id)
	var d *frontend.DeniedError
	switch {
	case errors.As(err, &d):
		return s.fail(ss, "reload", "", err)
	case errors.Is(err, frontend.ErrUnavailable):
		fmt.Fprintf(ss.Stderr(), "consoled: reload is not available (no config file)\n")
		return 1
	case err != nil && summary == "":
		fmt.Fprintf(ss.Stderr(), "consoled: reload refused, the running configuration stays:\n%v\n", err)
		return 1
	case err != nil:
		fmt.Fprintf(ss, "%s\n", summary)
		fmt.Fprintf(ss.Stderr(), "consoled: reload applied in part: %v\n", err)
		return 1
	}
	fmt.Fprintf(ss, "%s\n", summary)
	return 0
}
