// Command bench runs consoled, conserver (Debian conserver-server) and
// ConMan (Debian conman) in turn under the same load and prints one table:
// CPU, peak RSS, bytes lost to the logs, and the latency from a byte leaving
// a source to it reaching an attached viewer (each server through its own
// client: ssh, console, conman), and the round trip of a keystroke typed
// into a read-write client that the machine echoes. Each run also reads a source straight
// through socat in a terminal, under the same load: the floor of what the
// machine and the measurement cost with no server at all, so that "added
// p99" (p99 minus that floor's p99) is what the server adds. The record lag
// is how long after a machine prints a line it is in the console's log
// file, on a sample of the consoles (lag.go).
//
//	go run ./bench -consoles 1000 -rate 11520 -duration 60s [-viewers 100]
//
// Everything runs on loopback; every process it starts is stopped by PID.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/creack/pty"
)

type result struct {
	server    string
	consoles  int
	upAt3s    int
	allUpIn   time.Duration
	cpuSec    float64
	rssKiB    int64
	curRSSKiB int64
	// the current RSS split: anonymous (the process's own memory) and
	// file-backed (its binary and libraries mapped from the page cache,
	// shared with every process that maps the same files)
	anonKiB, fileKiB int64
	fds              int // descriptors the server held at the end of the measurement
	// read and write system calls of the server per write of a source
	// (an arrival), over the measurement
	readsPer, writesPer float64
	linesSent           int64
	bytesLost           int64
	p50, p99            time.Duration
	probes              int
	// floor: the same probes read with no server in between (socat in a
	// terminal, straight from a source), under the same load.
	floor50, floor99 time.Duration
	// Keystroke round trip: a writer types "KEY <ns>" into the server's
	// client, the machine echoes it at once, the writer's screen shows it.
	// The floor is the same through socat with no server in between.
	key50, key99, keyFloor50, keyFloor99 time.Duration
	keys                                 int
	// With more than one viewer: the reading viewers' spread, and what the
	// stalled one did to them.
	viewerSpread string
	// record lag: how long after a sampled console's LAG probe was sent it
	// was in the console's log file (see lag.go)
	lag      lagResult
	lagNames string // the sampled consoles
	idle     string // consoled's idle clock over the measurement
	err      error
	ratio    float64
	cpuPerUp float64
}

func main() {
	var (
		n        = flag.Int("consoles", 100, "consoles (sources)")
		rate     = flag.Int("rate", 11520, "bytes per second per console (11520 = 115200 baud)")
		duration = flag.Duration("duration", 15*time.Second, "measurement time")
		warmup   = flag.Duration("warmup", 3*time.Second, "time after all consoles are up before measuring")
		viewers  = flag.Int("viewers", 1, "viewers attached to console c0000 (one more stalls if > 1)")
		only     = flag.String("servers", "consoled,conserver,conman", "servers to run, comma separated")
	)
	baseline := flag.String("baseline", "", "another consoled binary (e.g. built from main) to run as server \"before\"")
	flag.IntVar(&fileLimit, "nofile", 0, "open-file limit the servers run under (0: the bench's own)")
	flag.Parse()
	raiseFileLimit()
	if err := installMissing(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	work, err := os.MkdirTemp("", "consoled-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "bin", "consoled")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/consoled").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: building consoled: %v\n%s", err, out)
		os.Exit(1)
	}
	all := map[string]server{"consoled": consoledServer{bin: bin}, "conserver": conserverServer{}, "conman": conmanServer{}}
	if *baseline != "" {
		all["before"] = consoledServer{bin: *baseline, label: "before"}
	}
	var results []*result
	for _, name := range strings.Split(*only, ",") {
		s, ok := all[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "bench: unknown server %q\n", name)
			os.Exit(2)
		}
		dir := filepath.Join(work, name)
		os.MkdirAll(dir, 0o755)
		fmt.Fprintf(os.Stderr, "bench: %s, %d consoles at %d B/s, %v\n", name, *n, *rate, *duration)
		r := run(s, dir, *n, *rate, *warmup, *duration, *viewers)
		results = append(results, r)
		os.RemoveAll(dir)
	}
	report(results, *n, *rate, *duration)
}

func run(s server, dir string, n, rate int, warmup, duration time.Duration, viewers int) *result {
	r := &result{server: s.name(), consoles: n}
	srcs := make([]*source, n)
	sampled := lagSample(n)
	for i := range srcs {
		var err error
		if srcs[i], err = newSource(i, rate, i == 0, sampled[i] && rate > 0); err != nil {
			r.err = err
			return r
		}
	}
	direct, err := newSource(n, rate, true, false) // read by socat, not by the server
	if err != nil {
		r.err = err
		return r
	}
	defer func() {
		for _, src := range append(srcs, direct) {
			src.stop()
			src.ln.Close()
		}
	}()
	port := freePort()
	cmd, err := s.start(dir, port, srcs)
	if err != nil {
		r.err = err
		return r
	}
	pid := cmd.Process.Pid
	defer stop(cmd)
	lw, err := watchLags(s, dir, srcs)
	if err != nil {
		r.err = err
		return r
	}
	defer lw.stop()
	r.lagNames = lw.names()
	start := time.Now()
	upBy := func() int {
		k := 0
		for _, src := range srcs {
			if src.up.Load() {
				k++
			}
		}
		return k
	}
	for time.Since(start) < 3*time.Second {
		time.Sleep(50 * time.Millisecond)
	}
	r.upAt3s = upBy()
	for upBy() < n && time.Since(start) < 60*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	var last int64
	for _, src := range srcs {
		if t := src.upAt.Load(); t > last {
			last = t
		}
	}
	if upBy() == n {
		r.allUpIn = time.Unix(0, last).Sub(start)
	}

	// Every client runs in a terminal of its own, stopped when the run ends.
	var clients []*exec.Cmd
	var terminals []*os.File
	stopTyping := make(chan struct{})
	defer func() {
		close(stopTyping)
		for _, c := range clients {
			stop(c)
		}
		for _, t := range terminals {
			t.Close()
		}
	}()
	inTerminal := func(what string, c *exec.Cmd) *os.File {
		t, err := pty.StartWithSize(c, &pty.Winsize{Rows: 50, Cols: 200})
		if err != nil {
			r.err = fmt.Errorf("%s: %w", what, err)
			return nil
		}
		clients, terminals = append(clients, c), append(terminals, t)
		return t
	}

	// Viewers of c0000, through the server's own client.
	lat := &latencies{re: probeRE} // viewer 0: the headline columns
	var others []*latencies
	for v := 0; v < viewers; v++ {
		t := inTerminal("viewer", s.viewer(dir, port, consoleName(0)))
		if t == nil {
			return r
		}
		switch v {
		case 0:
			go watch(t, lat)
		case 1:
			// the stalled viewer: never read
		default:
			l := &latencies{re: probeRE}
			others = append(others, l)
			go watch(t, l)
		}
	}
	// The writer: the server's client attached read-write to c0000, typing.
	keys := &latencies{re: echoRE}
	wt := inTerminal("writer", s.writer(dir, port, consoleName(0)))
	if wt == nil {
		return r
	}
	wready := make(chan struct{})
	go watchUntilReady(wt, wready, keys)
	go typist(wt, wready, stopTyping)
	// The floor: a source read and typed into through socat, no server.
	floor, keyFloor := &latencies{re: probeRE}, &latencies{re: echoRE}
	dt := inTerminal("direct viewer", exec.Command("socat", "STDIO,rawer", "TCP:"+direct.addr()))
	if dt == nil {
		return r
	}
	dready := make(chan struct{})
	go watchUntilReady(dt, dready, floor, keyFloor)
	go typist(dt, dready, stopTyping)

	time.Sleep(warmup)
	lagFrom := time.Now().UnixNano()
	cpu0 := cpuTicks(pid)
	r0, w0 := ioCalls(pid)
	arrivals0 := arrivals(srcs)
	probes0 := srcs[0].probesSent.Load()
	lat.reset()
	floor.reset()
	keys.reset()
	keyFloor.reset()
	for _, l := range others {
		l.reset()
	}
	time.Sleep(duration)
	lagTo := time.Now().UnixNano()
	cpu1 := cpuTicks(pid)
	if r1, w1 := ioCalls(pid); arrivals(srcs) > arrivals0 {
		a := float64(arrivals(srcs) - arrivals0)
		r.readsPer, r.writesPer = float64(r1-r0)/a, float64(w1-w0)/a
	}
	r.cpuSec = float64(cpu1-cpu0) / ticksPerSecond
	r.rssKiB = rssKiB(pid)
	r.curRSSKiB = curRSSKiB(pid)
	r.anonKiB, r.fileKiB = statusSum(pid, "RssAnon:"), statusSum(pid, "RssFile:")
	r.fds = openFiles(pid)
	if ms, ok := s.(metricsServer); ok { // after the RSS: a scrape allocates
		r.idle = idleSummary(scrapeIdle(ms.metricsAddr(dir)))
	}
	if m := os.Getenv("BENCH_METRICS"); m != "" && s.name() == "consoled" {
		exec.Command("curl", "-s", "-o", "/tmp/consoled.heap", "http://"+m+"/debug/pprof/heap").Run()
		if out, err := exec.Command("curl", "-s", "http://"+m+"/metrics").Output(); err == nil {
			for _, l := range strings.Split(string(out), "\n") {
				idle := strings.HasPrefix(l, "consoled_idle_") && !strings.Contains(l, "_bucket") // the idle clock's sweeps and late ticks
				if strings.HasPrefix(l, "go_memstats_") && !strings.Contains(l, "_total") || strings.HasPrefix(l, "go_goroutines") || idle {
					fmt.Fprintln(os.Stderr, "  ", l)
				}
			}
		}
	}
	r.p50, r.p99, r.probes = lat.percentiles()
	r.floor50, r.floor99, _ = floor.percentiles()
	r.key50, r.key99, r.keys = keys.percentiles()
	r.keyFloor50, r.keyFloor99, _ = keyFloor.percentiles()
	if viewers > 1 {
		r.viewerSpread = spread(append([]*latencies{lat}, others...), srcs[0].probesSent.Load()-probes0)
	}

	for _, src := range srcs {
		src.stop()
	}
	time.Sleep(2 * time.Second)       // let the server write what is in flight
	r.lag = lw.result(lagFrom, lagTo) // probes not in the logs by now are unseen
	for _, c := range clients {
		stop(c)
	}
	stop(cmd)
	for i, src := range srcs {
		sent := src.seq.Load()
		r.linesSent += sent
		path := s.logPath(dir, consoleName(i))
		l, first, last := lost(path, i, sent)
		if l > 0 { // which console, and which of its lines: a hunt starts here
			// The log's first line tells a server that never connected
			// (another dial took the source's one connection) from one
			// that stopped reading.
			head, _ := os.ReadFile(path)
			head, _, _ = bytes.Cut(head, []byte("\n"))
			fmt.Fprintf(os.Stderr, "%s: %s lost %d bytes: lines %d to %d of %d (seq) missing, or some of them; its log begins %q\n",
				s.name(), consoleName(i), l, first, last, sent, head[:min(len(head), 160)])
		}
		r.bytesLost += l
	}
	return r
}

// arrivals is how many writes of console text the sources made.
func arrivals(srcs []*source) int64 {
	var n int64
	for _, s := range srcs {
		n += s.writes.Load()
	}
	return n
}

// lost is how many bytes of the lines source id sent are not in the log,
// and the first and last of the lines missing (-1 when none is).
func lost(path string, id int, sent int64) (missing, first, last int64) {
	data, _ := os.ReadFile(path)
	found := map[int64]bool{}
	tag := []byte(fmt.Sprintf(" #%d:", id))
	for rest := data; ; {
		i := bytes.Index(rest, tag)
		if i < 0 {
			break
		}
		rest = rest[i+len(tag):]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		seq, err := strconv.ParseInt(string(rest[:j]), 10, 64)
		if err == nil {
			found[seq] = true
		}
	}
	first, last = -1, -1
	for seq := int64(0); seq < sent; seq++ {
		if !found[seq] {
			missing += int64(len(line(id, seq)))
			if first < 0 {
				first = seq
			}
			last = seq
		}
	}
	return missing, first, last
}

// latencies collects, for each line matching re on a screen, how long ago
// the time stamp (UnixNano) in its first group was.
type latencies struct {
	re *regexp.Regexp
	mu sync.Mutex
	d  []time.Duration
}

var (
	probeRE = regexp.MustCompile(`PROBE (\d+)\r`)
	echoRE  = regexp.MustCompile(`ECHO (\d+)\r`)
)

// watch reads a client's screen (a pty) until it closes and feeds every
// complete line to each of ls.
func watch(f *os.File, ls ...*latencies) { watchUntilReady(f, nil, ls...) }

// watchUntilReady is watch that also closes ready once the screen shows a
// probe: the client is attached and the console's output reaches it.
func watchUntilReady(f *os.File, ready chan<- struct{}, ls ...*latencies) {
	buf := make([]byte, 64<<10)
	var pending []byte
	for {
		n, err := f.Read(buf)
		now := time.Now().UnixNano()
		if err != nil {
			return
		}
		pending = append(pending, buf[:n]...)
		end := bytes.LastIndexByte(pending, '\n')
		if end < 0 {
			if len(pending) > 1<<20 {
				pending = pending[:0]
			}
			continue
		}
		if ready != nil && probeRE.Match(pending[:end]) {
			close(ready)
			ready = nil
		}
		for _, l := range ls {
			for _, m := range l.re.FindAllSubmatchIndex(pending[:end], -1) {
				t, _ := strconv.ParseInt(string(pending[m[2]:m[3]]), 10, 64)
				l.mu.Lock()
				l.d = append(l.d, time.Duration(now-t))
				l.mu.Unlock()
			}
		}
		pending = append(pending[:0], pending[end+1:]...)
	}
}

// typeEvery spaces the writer's keystrokes.
const typeEvery = 20 * time.Millisecond

// typist types "KEY <UnixNano>" lines into a client's terminal until stop,
// from when ready is closed (keys typed while a client is still starting
// can be taken for something else: conserver's client then never echoed).
func typist(f *os.File, ready <-chan struct{}, stop <-chan struct{}) {
	select {
	case <-ready:
	case <-stop:
		return
	}
	t := time.NewTicker(typeEvery)
	defer t.Stop()
	var buf []byte
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		buf = fmt.Appendf(buf[:0], "KEY %d\r", time.Now().UnixNano())
		if _, err := f.Write(buf); err != nil {
			return
		}
	}
}

// spread summarizes the reading viewers: the range of their p50s and p99s,
// and how many of the probes sent meanwhile each saw.
func spread(ls []*latencies, sent int64) string {
	var p50s, p99s []time.Duration
	minSeen, maxSeen := -1, 0
	for _, l := range ls {
		p50, p99, n := l.percentiles()
		p50s, p99s = append(p50s, p50), append(p99s, p99)
		if minSeen < 0 || n < minSeen {
			minSeen = n
		}
		maxSeen = max(maxSeen, n)
	}
	rng := func(d []time.Duration) string {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return fmt.Sprintf("%v-%v", d[0].Round(10*time.Microsecond), d[len(d)-1].Round(10*time.Microsecond))
	}
	return fmt.Sprintf("%d reading viewers beside the stalled one: p50 %s, p99 %s; each saw %d-%d probes (%d sent meanwhile)",
		len(ls), rng(p50s), rng(p99s), minSeen, maxSeen, sent)
}

func (l *latencies) reset() {
	l.mu.Lock()
	l.d = nil
	l.mu.Unlock()
}

func (l *latencies) percentiles() (time.Duration, time.Duration, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0, 0, 0
	}
	d := append([]time.Duration(nil), l.d...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2], d[len(d)*99/100], len(d)
}

func report(rs []*result, n, rate int, duration time.Duration) {
	var base *result
	for _, r := range rs {
		up := r.upAt3s
		if r.allUpIn > 0 {
			up = n
		}
		if up > 0 {
			r.cpuPerUp = r.cpuSec / float64(up)
		}
		if r.server == "consoled" {
			base = r
		}
	}
	limit := "the bench's own"
	if fileLimit > 0 {
		limit = fmt.Sprint(fileLimit)
	} else if l, err := ownFileLimit(); err == nil {
		limit = fmt.Sprintf("the bench's own, %d", l)
	}
	fmt.Printf("%d consoles, %d B/s each, measured over %v on %d CPUs; servers' open-file limit: %s\n\n", n, rate, duration, numCPU(), limit)
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "server\tconsoles\tup at 3 s\tall up in\tCPU s\t% of a core\tCPU/console vs consoled\tRSS MiB\tanon MiB\tfile MiB\tpeak RSS MiB\tfds\treads/arrival\twrites/arrival\tbytes lost\tp50\tp99\tprobes\tno-server p50\tno-server p99\tadded p99\t")
	for _, r := range rs {
		if r.err != nil {
			fmt.Fprintf(w, "%s\t%d\terror: %v\t\t\t\t\t\t\t\t\t\t\t\t\n", r.server, r.consoles, r.err)
			continue
		}
		ratio := "-"
		if base != nil && base.cpuPerUp > 0 {
			ratio = fmt.Sprintf("%.2fx", r.cpuPerUp/base.cpuPerUp)
		}
		allUp := "never"
		if r.allUpIn > 0 {
			allUp = r.allUpIn.Round(time.Millisecond).String()
		}
		us := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%.2f\t%.1f\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%.2f\t%.2f\t%d\t%v\t%v\t%d\t%v\t%v\t%v\t\n", r.server, r.consoles, r.upAt3s, allUp, r.cpuSec,
			100*r.cpuSec/duration.Seconds(), ratio, float64(r.curRSSKiB)/1024, float64(r.anonKiB)/1024, float64(r.fileKiB)/1024, float64(r.rssKiB)/1024, r.fds, r.readsPer, r.writesPer, r.bytesLost,
			us(r.p50), us(r.p99), r.probes, us(r.floor50), us(r.floor99), us(r.p99-r.floor99))
	}
	w.Flush()
	fmt.Printf("\nkeystroke round trip (a writer types into its client, c0000 echoes at once, the writer's screen shows it)\n\n")
	w = tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "server\tkeys\tp50\tp99\tno-server p50\tno-server p99\tadded p50\tadded p99\t")
	for _, r := range rs {
		if r.err != nil {
			continue
		}
		us := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
		fmt.Fprintf(w, "%s\t%d\t%v\t%v\t%v\t%v\t%v\t%v\t\n", r.server, r.keys, us(r.key50), us(r.key99),
			us(r.keyFloor50), us(r.keyFloor99), us(r.key50-r.keyFloor50), us(r.key99-r.keyFloor99))
	}
	w.Flush()
	reportLag(rs, rate)
	for _, r := range rs {
		if r.err == nil && r.idle != "" {
			fmt.Printf("%s: %s\n", r.server, r.idle)
		}
	}
	for _, r := range rs {
		if r.err == nil && r.viewerSpread != "" {
			fmt.Printf("%s: %s\n", r.server, r.viewerSpread)
		}
	}
}

func stop(cmd *exec.Cmd) {
	if cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

func ownFileLimit() (uint64, error) {
	var l syscall.Rlimit
	err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
	return l.Cur, err
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

// installMissing installs the Debian packages of the servers it compares.
func installMissing() error {
	var missing []string
	for cmd, pkg := range map[string]string{"conserver": "conserver-server", "console": "conserver-client", "conmand": "conman", "conman": "conman", "ssh": "openssh-client", "socat": "socat"} {
		if _, err := exec.LookPath(cmd); err != nil && !strings.Contains(strings.Join(missing, " "), pkg) {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	fmt.Fprintf(os.Stderr, "bench: installing %s\n", strings.Join(missing, " "))
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for _, args := range [][]string{{"update", "-q"}, append([]string{"install", "-y", "-q", "--no-install-recommends"}, missing...)} {
		c := exec.Command("apt-get", args...)
		c.Env, c.Stdout, c.Stderr = env, os.Stderr, os.Stderr
		if err := c.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w", args[0], err)
		}
	}
	return nil
}
