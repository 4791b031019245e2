package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

func TestGoodConfig(t *testing.T) {
	cfg, diags := Load("testdata/good.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	dir, _ := filepath.Abs("testdata")
	if cfg.HostKey != filepath.Join(dir, "state/ssh_host_ed25519_key") || cfg.LogDir != filepath.Join(dir, "logs") {
		t.Errorf("paths not relative to the config file: %q %q", cfg.HostKey, cfg.LogDir)
	}
	if len(cfg.Users) != 2 || len(cfg.Users[0].Keys) != 1 || len(cfg.Users[1].Keys) != 1 {
		t.Errorf("users: %+v", cfg.Users)
	}
	if len(cfg.Consoles) != 9 {
		t.Fatalf("consoles: %+v", cfg.Consoles)
	}
	vm1, v6, sw1, demo := cfg.Consoles[0], cfg.Consoles[1], cfg.Consoles[2], cfg.Consoles[3]
	if vm1.Kind != "telnet" || vm1.Telnet.Address != "127.0.0.1:4555" || vm1.Log.MaxSize != 1<<20 || vm1.Log.Keep != 3 {
		t.Errorf("vm1: %+v", vm1)
	}
	if v6.Telnet.Address != "[::1]:4555" || v6.Log.MaxSize != DefaultMaxSize || v6.Log.Keep != DefaultKeep {
		t.Errorf("v6: %+v", v6)
	}
	// A bare command name is looked up in PATH when it runs; a relative
	// path is relative to the config file.
	if sw1.Kind != "exec" || strings.Join(sw1.Exec.Command, " ") != "sh -c exec ssh -tt admin@sw1" || string(sw1.Exec.Break) != "\r~B" {
		t.Errorf("sw1: %+v", sw1.Exec)
	}
	if tool := cfg.Consoles[8]; tool.Exec == nil || tool.Exec.Command[0] != filepath.Join(dir, "tool.sh") {
		t.Errorf("tool: %+v", tool.Exec)
	}
	if s := cfg.Consoles[4].Serial; s == nil || s.Device != "/dev/ttyUSB0" || s.Baud != 115200 || s.DataBits != 8 ||
		s.Parity != "even" || s.StopBits != 1.5 || s.Flow != "rtscts" || s.BreakMs != 300 {
		t.Errorf("web07: %+v", s)
	}
	if tags := cfg.Consoles[4].Tags; strings.Join(tags, " ") != "rack12 web" {
		t.Errorf("web07 tags: %q", tags)
	}
	db01, web08 := cfg.Consoles[5], cfg.Consoles[6]
	if m := db01.IPMI; m == nil || m.Address != "10.0.0.51:623" || m.Password != "secret-pw" || m.CipherSuite != 3 ||
		m.Privilege != "operator" || !m.Steal || db01.Power != m {
		t.Errorf("db01: %+v", db01)
	}
	if web08.Power == nil || web08.Power.Address != "10.0.0.58:623" || web08.Power.Password != "pw" || vm1.Power != nil {
		t.Errorf("web08 power: %+v", web08.Power)
	}
	locked := cfg.Consoles[7]
	if locked.Access.Open || !locked.Access.RW["alice"] || locked.Access.RO["alice"] || !locked.Access.RO["bob"] || !vm1.Access.Open {
		t.Errorf("access: locked %+v, vm1 %+v", locked.Access, vm1.Access)
	}
	if b := cfg.Breaks[2]; b.Source != `\r~\d^b` || b.Delay != 300*time.Millisecond || len(b.Steps) != 3 ||
		string(b.Steps[0].Data) != "\r~" || !b.Steps[1].Pause || string(b.Steps[2].Data) != "\x02" {
		t.Errorf("break 2: %+v", b)
	}
	if b := cfg.Breaks[5]; len(b.Steps) != 3 || !b.Steps[0].Break || !b.Steps[1].Pause || string(b.Steps[2].Data) != "Ax" {
		t.Errorf("break 5: %+v", b)
	}
	if b := cfg.Breaks[1]; len(b.Steps) != 1 || !b.Steps[0].Break {
		t.Errorf("default break 1: %+v", b)
	}
	if cfg.AuditLog != filepath.Join(dir, "logs", "audit.log") {
		t.Errorf("audit log %q", cfg.AuditLog)
	}
	if demo.Kind != "demo" {
		t.Errorf("demo: %+v", demo)
	}
	if string(cfg.Escape) != "\x05c" {
		t.Errorf("escape %q", cfg.Escape)
	}
}

// Every error names the file and the line of the offending text.
func TestConfigErrorsNameFileLine(t *testing.T) {
	cases := []struct{ file, want string }{
		{"unknown-key.hcl", "testdata/unknown-key.hcl:3,3-9: Unsupported argument"},
		{"duplicate.hcl", "testdata/duplicate.hcl:5,9-14: Duplicate console; console \"vm1\" is already defined at testdata/duplicate.hcl:1,9-14"},
		{"no-backend.hcl", "testdata/no-backend.hcl:3,1-14: Console without a backend"},
		{"bad-size.hcl", "testdata/bad-size.hcl:3,20-32: Invalid size"},
		{"bad-address.hcl", "testdata/bad-address.hcl:2,22-33: Invalid address"},
		{"two-backends.hcl", "testdata/two-backends.hcl:3,3-7: More than one backend"},
		{"bad-key.hcl", "testdata/bad-key.hcl:2,10-33: Invalid public key"},
		{"syntax.hcl", "testdata/syntax.hcl:"},
		{"bad-serial.hcl", "testdata/bad-serial.hcl:4,14-24: Invalid value; \"sideways\": want one of none, even, odd, mark, space"},
		{"ipmi-no-password.hcl", "testdata/ipmi-no-password.hcl:2,3-7: Missing password"},
		{"unknown-group.hcl", "testdata/unknown-group.hcl:3,8-22: Unknown group"},
		{"unknown-user.hcl", "testdata/unknown-user.hcl:6,8-19: Unknown user"},
		{"bad-break.hcl", "testdata/bad-break.hcl:2,14-19: Invalid break sequence"},
		{"same-device.hcl", "testdata/same-device.hcl:4,9-12: Device used twice"},
		// Names that cannot be attached or would share a file with consoled.
		{"command-name.hcl", `testdata/command-name.hcl:4,9-15: Reserved console name; "list" is a command`},
		{"audit-name.hcl", `testdata/audit-name.hcl:4,9-16: Reserved console name; "audit" is the name of consoled's audit log`},
		{"audit-collides.hcl", `testdata/audit-collides.hcl:5,9-14: Console log collides with a file of consoled; console "vm1" logs to `},
		{"bad-tag.hcl", `testdata/bad-tag.hcl:6,10-28: Invalid tag; "rack 12"`},
		{"unsafe-name.hcl", `testdata/unsafe-name.hcl:4,9-27: Invalid console name; "../../etc/passwd"`},
		// What cannot work: ports, commands, nobody to log in.
		{"telnet-port.hcl", `testdata/telnet-port.hcl:5,22-39: Invalid port; telnet address "127.0.0.1:70000": port 70000 is out of range (1 to 65535)`},
		{"listen-port.hcl", `testdata/listen-port.hcl:4,10-27: Invalid port; listen "127.0.0.1:65536"`},
		{"metrics-port.hcl", `testdata/metrics-port.hcl:4,18-36: Invalid port; metrics_listen "127.0.0.1:123456"`},
		{"ipmi-port.hcl", `testdata/ipmi-port.hcl:6,16-33: Invalid port; ipmi address "10.0.0.51:99999"`},
		{"exec-missing.hcl", `testdata/exec-missing.hcl:5,20-55: Command cannot be run; exec command: "no-such-command-consoled" is not an executable file in PATH`},
		{"exec-not-executable.hcl", `testdata/exec-not-executable.hcl:5,20-33: Command cannot be run; exec command: `},
		{"on-panic-missing.hcl", `testdata/on-panic-missing.hcl:5,13-37: Command cannot be run; on_panic: /nonexistent/page-me: no such file or directory`},
		{"no-users.hcl", `testdata/no-users.hcl:1,1-1: Nobody can log in; no user is configured`},
		{"keyless-users.hcl", `testdata/keyless-users.hcl:1,1-1: Nobody can log in; no configured user has a key`},
		{"bad-option-file.hcl", "ABS/bad-option.keys:3,1-1: Invalid public key; option command= is not supported"},
		{"bad-option-inline.hcl", "testdata/bad-option-inline.hcl:2,10-129: Invalid public key; user \"erin\": \"from=\\\"*.example.com\\\" ssh...\": option from=\"*.example.com\": \"*.example.com\" is a host name pattern"},
	}
	abs, _ := filepath.Abs("testdata") // a keys_file is named by its full path
	for _, tc := range cases {
		tc.want = strings.Replace(tc.want, "ABS", abs, 1)
		_, diags := Load(filepath.Join("testdata", tc.file))
		if !diags.HasErrors() {
			t.Errorf("%s: no error", tc.file)
			continue
		}
		if got := diags.Errs()[0].Error(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s:\n got  %s\n want %s...", tc.file, got, tc.want)
		}
	}
}

// The audit log's collision is reported at the console and at audit_log.
func TestAuditCollisionNamesBothPlaces(t *testing.T) {
	_, diags := Load("testdata/audit-collides.hcl")
	errs := diags.Errs()
	if len(errs) != 2 || !strings.HasPrefix(errs[1].Error(), "testdata/audit-collides.hcl:4,13-32: Console log collides") {
		t.Errorf("want errors at the console and at audit_log: %v", errs)
	}
}

// Parse (the embedded default, whose user is added afterwards) accepts a
// config without users; Load does not.
func TestParseWithoutUsers(t *testing.T) {
	if _, diags := Parse([]byte("console \"demo\" {\n  demo {}\n}\n"), "default.hcl", t.TempDir()); diags.HasErrors() {
		t.Error(diags)
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"vm1", "web-07.dc2", "A_b", "9", strings.Repeat("x", MaxNameLen)} {
		if !ValidName(ok) {
			t.Errorf("ValidName(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", ".hidden", "-x", "_x", "a/b", "..", "a b", "ü", strings.Repeat("x", MaxNameLen+1)} {
		if ValidName(bad) {
			t.Errorf("ValidName(%q) = true", bad)
		}
	}
}

func TestConsoleFile(t *testing.T) {
	for path, want := range map[string]bool{
		"/l/audit.log": true, "/l/audit.log.idx": true, "/l/audit.log.3.gz": true, "/l/audit.log.keep.gz": true,
		"/l/auditor.log": false, "/l/audit.logs": false, "/other/audit.log": false, "/l/sub/audit.log": false,
	} {
		if got := ConsoleFile("/l", "audit", path); got != want {
			t.Errorf("ConsoleFile(/l, audit, %s) = %v", path, got)
		}
	}
}

// Key options are kept with the key (and enforced at login by authkeys).
func TestKeyOptions(t *testing.T) {
	cfg, diags := Load("testdata/key-options.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	carol, dave := cfg.Users[0].Keys, cfg.Users[1].Keys
	if len(carol) != 1 || len(dave) != 1 {
		t.Fatalf("keys: carol %d dave %d", len(carol), len(dave))
	}
	c := carol[0]
	if !c.NoPTY || c.From.String() != "10.20.0.0/16,!10.20.0.1" || !c.Expires.Equal(time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC)) ||
		!strings.HasSuffix(c.Where, "key-options.keys:2") {
		t.Errorf("carol: %+v", c)
	}
	if c.Permit("10.20.3.4", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) != nil || c.Permit("10.20.0.1", time.Now()) == nil {
		t.Errorf("carol's from= not applied")
	}
	if dave[0].Permit("127.0.0.1", time.Now()) != nil || dave[0].Permit("127.0.0.2", time.Now()) == nil {
		t.Errorf("dave's inline from= not applied: %+v", dave[0])
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"64MiB": 64 << 20, "500k": 500 << 10, "1G": 1 << 30, "4096": 4096, "2 MB": 2 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "3 furlongs"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func TestParseEscape(t *testing.T) {
	for in, want := range map[string]string{"^Ec": "\x05c", "^]": "\x1d", "&.": "&.", "^?": "\x7f"} {
		if got, err := ParseEscape(in); err != nil || string(got) != want {
			t.Errorf("ParseEscape(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "^1", "abcde"} {
		if _, err := ParseEscape(bad); err == nil {
			t.Errorf("ParseEscape(%q) accepted", bad)
		}
	}
}

// FuzzParse: the loader never panics on any input, and whatever it accepts
// has at least a backend per console.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`console "a" { demo {} }`, `listen = 1`, `user "x" { keys = [] }`, "console \"a\" {\n telnet { address = \"h:1\" }\n log { max_size = \"1k\" }\n}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, diags := Parse(src, "fuzz.hcl", "/tmp")
		if diags.HasErrors() {
			return
		}
		for _, c := range cfg.Consoles {
			if c.Telnet == nil && c.Exec == nil && c.Serial == nil && c.IPMI == nil && c.Demo == nil {
				t.Fatalf("console %q accepted without a backend", c.Name)
			}
		}
	})
}

// A config that cannot be read is reported with its name and the OS error,
// not as "<nil>: ...".
func TestMissingFileMessage(t *testing.T) {
	_, diags := Load("testdata/no-such.hcl")
	if !diags.HasErrors() {
		t.Fatal("no error")
	}
	if got := Message(diags[0]); got != "Cannot read config: open testdata/no-such.hcl: no such file or directory" {
		t.Errorf("message %q", got)
	}
}

// Certificate settings: CA keys inline and from a file (a bad line named
// by file:line), the revoked keys file read at load, group principals,
// and names in rw/ro that are certificate principals rather than users.
func TestCertificateSettings(t *testing.T) {
	dir := t.TempDir()
	ca := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEgCPFGVvlyvFJbiHL8NaMdGfOJ1RsAMZHfz7wg7RrOo ca@corp"
	os.WriteFile(filepath.Join(dir, "cas"), []byte("# CAs\n"+ca+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "bad-cas"), []byte("# CAs\n\nnot a key\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "revoked"), []byte(ca+"\n"), 0o600)
	src := `
trusted_user_ca_keys = ["` + ca + `"]
trusted_user_ca_keys_file = "cas"
revoked_keys_file = "revoked"
group "ops" {
  principals = ["ops", "sre"]
}
console "lab" {
  demo {}
  rw = ["group:ops", "alice"]
}
`
	cfg, diags := Load(writeConfig(t, dir, src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(cfg.UserCAs) != 2 || cfg.Revoked == nil || strings.Join(cfg.GroupPrincipals["ops"], ",") != "ops,sre" {
		t.Errorf("CAs %d, revoked %v, group principals %v", len(cfg.UserCAs), cfg.Revoked, cfg.GroupPrincipals)
	}
	if a := cfg.Consoles[0].Access; !a.RW["alice"] || !a.RWGroups["ops"] {
		t.Errorf("access %+v", a)
	}
	for _, tc := range []struct{ src, want string }{
		{strings.Replace(src, `"cas"`, `"bad-cas"`, 1), filepath.Join(dir, "bad-cas") + ":3,1-1: Invalid CA key"},
		{strings.Replace(src, `"revoked"`, `"missing"`, 1), "Cannot read revoked_keys_file"},
		{strings.Replace(src, `principals = ["ops", "sre"]`, ``, 1), "Group without members"},
		{strings.Replace(src, `trusted_user_ca_keys = ["`+ca+`"]`, `trusted_user_ca_keys = ["ssh-ed25519 AAAA"]`, 1), "Invalid CA key"},
	} {
		_, diags := Load(writeConfig(t, dir, tc.src))
		if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.want) {
			t.Errorf("want %q, got %v", tc.want, diags)
		}
	}
	// Without CAs, an unknown name in rw is still an error.
	noCA := strings.Replace(strings.Replace(strings.Replace(src, `trusted_user_ca_keys = ["`+ca+`"]`, "", 1), `trusted_user_ca_keys_file = "cas"`, "", 1), `principals = ["ops", "sre"]`, `members = []`, 1)
	if _, diags := Load(writeConfig(t, dir, userAlice+noCA)); !diags.HasErrors() || !strings.Contains(diags.Error(), "Unknown user") {
		t.Errorf("unknown user without CAs: %v", diags)
	}
}

const userAlice = `user "bob" {
  keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEgCPFGVvlyvFJbiHL8NaMdGfOJ1RsAMZHfz7wg7RrOo bob@laptop"]
}
`

func writeConfig(t *testing.T, dir, src string) string {
	t.Helper()
	p := filepath.Join(dir, "c.hcl")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Session settings: motd, idle_timeout (global and per console), initcmd
// as a break sequence, idle_string with its period; mistakes refused.
func TestSessionSettings(t *testing.T) {
	dir := t.TempDir()
	src := userAlice + `
motd = "be nice"
idle_timeout = "30m"
bmc_event_poll = "5s"
console "sw1" {
  demo {}
  initcmd = "\\z\\dshow version\r"
  idle_string = "\r"
  idle_timeout = "2h"
}
console "sw2" {
  demo {}
  idle_string = "\r"
  idle_string_after = "90s"
}
`
	cfg, diags := Load(writeConfig(t, dir, src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	sw1, sw2 := cfg.Consoles[0].Session, cfg.Consoles[1].Session
	if cfg.Motd != "be nice" || cfg.IdleTimeout != 30*time.Minute || cfg.BMCEventPoll != 5*time.Second ||
		sw1.IdleTimeout != 2*time.Hour || sw1.IdleAfter != DefaultIdleStringAfter || sw2.IdleAfter != 90*time.Second ||
		sw1.InitCmd == nil || len(sw1.InitCmd.Steps) != 3 || !sw1.InitCmd.Steps[0].Break {
		t.Errorf("settings: %+v %+v %+v", cfg, sw1, sw2)
	}
	for _, tc := range []struct{ from, to, want string }{
		{`idle_timeout = "30m"`, `idle_timeout = "soon"`, "Invalid duration"},
		{`idle_string = "\r"
  idle_string_after`, `idle_string_after`, "idle_string_after without idle_string"},
		{`initcmd = "\\z\\dshow version\r"`, `initcmd = "\\q"`, "Invalid initcmd"},
		{`bmc_event_poll = "5s"`, `bmc_event_poll = "1ms"`, "Invalid duration"},
	} {
		_, diags := Load(writeConfig(t, dir, strings.Replace(src, tc.from, tc.to, 1)))
		if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.want) {
			t.Errorf("%s -> %s: want %q, got %v", tc.from, tc.to, tc.want, diags)
		}
	}
}

// A key whose expiry-time has passed is loaded (a reload may be meant to
// replace it) but warned about, naming the user, the key and when it
// expired; one still valid is not.
func TestExpiredKeyWarned(t *testing.T) {
	const pub = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPAZ+J5P0g/lzrl3G/gb6Jc3ZFJkTsdDLipQIBrh9PPd"
	src := `user "old" {
  keys = ["expiry-time=\"20200101Z\" ` + pub + `"]
}
user "new" {
  keys = ["expiry-time=\"29991231Z\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICtY5QuqXb5aa1awehKeyySektFDkYadQZUIN+qjHDhM"]
}
`
	_, diags := Parse([]byte(src), "expired.hcl", t.TempDir())
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var warned []string
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning && d.Summary == "Expired key" {
			warned = append(warned, d.Error())
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], `expired.hcl:2,`) ||
		!strings.Contains(warned[0], `user "old": key SHA256:`) || !strings.Contains(warned[0], "expired at 2020-01-01T00:00:00Z") {
		t.Errorf("expired key warnings: %q", warned)
	}
}
