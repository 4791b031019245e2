package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// server is one console server under test.
type server interface {
	name() string
	// start writes its config for srcs under dir and starts it.
	start(dir string, port int, srcs []*source) (*exec.Cmd, error)
	// viewer is the server's own client, watching console c read-only.
	viewer(dir string, port int, c string) *exec.Cmd
	// writer is the server's own client, attached to console c read-write.
	writer(dir string, port int, c string) *exec.Cmd
	// logPath is where console c is logged.
	logPath(dir, c string) string
}

func consoleName(i int) string { return fmt.Sprintf("c%04d", i) }

// fileLimit is the open-file limit servers run under (-nofile; 0: the
// bench's own).
var fileLimit int

// serverCommand runs a server, under fileLimit if set (prlimit sets it,
// soft and hard, then runs the server in its place).
func serverCommand(name string, args ...string) *exec.Cmd {
	if fileLimit <= 0 {
		return exec.Command(name, args...)
	}
	return exec.Command("prlimit", append([]string{fmt.Sprintf("--nofile=%d:%d", fileLimit, fileLimit), "--", name}, args...)...)
}

// consoledServer is consoled built from bin; label names another build
// of it (-baseline) in the table.
type consoledServer struct{ bin, label string }

func (s consoledServer) name() string {
	if s.label != "" {
		return s.label
	}
	return "consoled"
}

func (s consoledServer) start(dir string, port int, srcs []*source) (*exec.Cmd, error) {
	key := filepath.Join(dir, "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ssh-keygen: %v %s", err, out)
	}
	pub, _ := os.ReadFile(key + ".pub")
	var b strings.Builder
	fmt.Fprintf(&b, "listen = \"127.0.0.1:%d\"\nlog_dir = \"logs\"\nuser \"bench\" {\n  keys = [%q]\n}\n", port, strings.TrimSpace(string(pub)))
	m := os.Getenv("BENCH_METRICS")
	if m == "" {
		m = fmt.Sprintf("127.0.0.1:%d", freePort())
	}
	fmt.Fprintf(&b, "metrics_listen = %q\n", m)
	if err := os.WriteFile(filepath.Join(dir, "metrics.addr"), []byte(m), 0o600); err != nil {
		return nil, err
	}
	for i, src := range srcs {
		fmt.Fprintf(&b, "console %q {\n  telnet { address = %q }\n  log {\n    max_size = \"1GiB\"\n  }\n}\n", consoleName(i), src.addr())
	}
	cfg := filepath.Join(dir, "consoled.hcl")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		return nil, err
	}
	args := []string{"-config", cfg, "-log-level", "warn"}
	if p := os.Getenv("BENCH_CPUPROFILE"); p != "" {
		args = append(args, "-cpuprofile", p)
	}
	cmd := serverCommand(s.bin, args...)
	return cmd, cmd.Start()
}

func (consoledServer) viewer(dir string, port int, c string) *exec.Cmd {
	return exec.Command("ssh", "-F", "/dev/null", "-p", fmt.Sprint(port), "-i", filepath.Join(dir, "id"),
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "bench@127.0.0.1", c, "--spy")
}

func (consoledServer) writer(dir string, port int, c string) *exec.Cmd {
	return exec.Command("ssh", "-tt", "-F", "/dev/null", "-p", fmt.Sprint(port), "-i", filepath.Join(dir, "id"),
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "bench@127.0.0.1", c)
}

func (consoledServer) logPath(dir, c string) string { return filepath.Join(dir, "logs", c+".log") }

type conserverServer struct{}

func (conserverServer) name() string { return "conserver" }

func (conserverServer) start(dir string, port int, srcs []*source) (*exec.Cmd, error) {
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	var b strings.Builder
	fmt.Fprintf(&b, "config * {\n}\ndefault * {\n  logfile %s/&.log;\n  timestamp \"\";\n  rw *;\n  master 127.0.0.1;\n}\n", logs)
	fmt.Fprintf(&b, "access * {\n  trusted 127.0.0.1;\n}\n")
	for i, src := range srcs {
		fmt.Fprintf(&b, "console %s {\n  type host;\n  host %s;\n  port %d;\n}\n", consoleName(i), sourceHost, src.port())
	}
	cf := filepath.Join(dir, "conserver.cf")
	os.WriteFile(cf, []byte(b.String()), 0o644)
	pw := filepath.Join(dir, "conserver.passwd")
	os.WriteFile(pw, nil, 0o644)
	cmd := serverCommand("conserver", "-C", cf, "-P", pw, "-p", fmt.Sprint(port), "-M", "127.0.0.1", "-L", filepath.Join(dir, "conserver.log"))
	return cmd, cmd.Start()
}

func (conserverServer) viewer(dir string, port int, c string) *exec.Cmd {
	return exec.Command("console", "-M", "127.0.0.1", "-p", fmt.Sprint(port), "-s", c)
}

func (conserverServer) writer(dir string, port int, c string) *exec.Cmd {
	// -f: conserver sometimes already counts a writer ("no, root@localhost is
	// attached") while only spies are on; forcing makes this one the writer.
	return exec.Command("console", "-f", "-M", "127.0.0.1", "-p", fmt.Sprint(port), c)
}

func (conserverServer) logPath(dir, c string) string { return filepath.Join(dir, "logs", c+".log") }

type conmanServer struct{}

func (conmanServer) name() string { return "conman" }

func (conmanServer) start(dir string, port int, srcs []*source) (*exec.Cmd, error) {
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	var b strings.Builder
	fmt.Fprintf(&b, "server logdir=%q\nserver logfile=%q\nserver loopback=ON\nserver port=%d\nserver keepalive=ON\nglobal log=\"%%N.log\"\n",
		logs, filepath.Join(dir, "conmand.log"), port)
	for i, src := range srcs {
		fmt.Fprintf(&b, "console name=%q dev=\"%s\"\n", consoleName(i), src.addr())
	}
	cf := filepath.Join(dir, "conman.conf")
	os.WriteFile(cf, []byte(b.String()), 0o644)
	cmd := serverCommand("conmand", "-F", "-c", cf)
	return cmd, cmd.Start()
}

func (conmanServer) viewer(dir string, port int, c string) *exec.Cmd {
	return exec.Command("conman", "-d", fmt.Sprintf("127.0.0.1:%d", port), "-m", c)
}

func (conmanServer) writer(dir string, port int, c string) *exec.Cmd {
	return exec.Command("conman", "-d", fmt.Sprintf("127.0.0.1:%d", port), c)
}

func (conmanServer) logPath(dir, c string) string { return filepath.Join(dir, "logs", c+".log") }
