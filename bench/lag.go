package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

// The record lag is how long after a machine prints a byte it is in the
// console's log file: what a crash of the server (or of the gateway) would
// lose. A sample of the consoles (lagSample) prints a "LAG <UnixNano>;"
// line at its first write lagEvery after the one before, in the same write
// as its text, and a lagWatch follows their log files with inotify and
// notes when each line appeared (when the bench read the event: its own
// scheduling adds to the lag, as it does to the viewers' latency).
// With no server in between the lag is 0 by definition (nothing is
// recorded), so there is no floor to measure.

// lagEvery spaces a sampled console's probes.
const lagEvery = 500 * time.Millisecond

// lagConsoles is how many consoles are sampled.
const lagConsoles = 20

// lagLen is a probe's length: "LAG ", 19 digits, ";\r\n".
const lagLen = 4 + 19 + 3

var lagRE = regexp.MustCompile(`LAG (\d+);`)

// lagSample picks the consoles whose record lag is measured: up to
// lagConsoles spread evenly over the range, the last one included, but not
// c0000 (its viewer and writer are attached: it is read at once, not as a
// console nobody watches).
func lagSample(n int) map[int]bool {
	pick := map[int]bool{}
	for k := range lagConsoles {
		if i := n - 1 - k*(n-1)/lagConsoles; i > 0 {
			pick[i] = true
		}
	}
	return pick
}

// lagFile is one sampled console's log, followed.
type lagFile struct {
	src  *source
	path string
	f    *os.File        // nil until the server creates it
	tail []byte          // the end of what was read, a probe maybe cut short
	seen map[int64]int64 // a probe's stamp -> when it was seen (UnixNano)
}

// lagWatch notes when each probe appears in the sampled consoles' logs.
type lagWatch struct {
	fd    int // inotify's descriptor, ino's
	ino   *os.File
	mu    sync.Mutex
	files []*lagFile
	byWD  map[int32]*lagFile
	done  chan struct{}
	wg    sync.WaitGroup
}

// watchLags starts following the logs server s (its files under dir)
// keeps of the lag sources of srcs (files the server has yet to create are
// looked for every 20 ms).
func watchLags(s server, dir string, srcs []*source) (*lagWatch, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	w := &lagWatch{fd: fd, ino: os.NewFile(uintptr(fd), "inotify"), byWD: map[int32]*lagFile{}, done: make(chan struct{})}
	for i, src := range srcs {
		if src.lag {
			w.files = append(w.files, &lagFile{src: src, path: s.logPath(dir, consoleName(i)), seen: map[int64]int64{}})
		}
	}
	w.wg.Add(2)
	go w.events()
	go w.open()
	return w, nil
}

// names says which consoles are sampled ("" for none).
func (w *lagWatch) names() string {
	if len(w.files) == 0 {
		return ""
	}
	first, last := w.files[0].src.id, w.files[len(w.files)-1].src.id
	return fmt.Sprintf("%d consoles spread from %s to %s", len(w.files), consoleName(first), consoleName(last))
}

// open adds each log to the watch once it exists, then reads what it
// already holds (written before the watch).
func (w *lagWatch) open() {
	defer w.wg.Done()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		w.mu.Lock()
		missing := 0
		for _, lf := range w.files {
			if lf.f != nil {
				continue
			}
			wd, err := syscall.InotifyAddWatch(w.fd, lf.path, syscall.IN_MODIFY)
			if err != nil {
				missing++
				continue
			}
			f, err := os.Open(lf.path)
			if err != nil {
				missing++
				continue
			}
			lf.f = f
			w.byWD[int32(wd)] = lf
			lf.read(time.Now().UnixNano())
		}
		w.mu.Unlock()
		if missing == 0 {
			return
		}
		select {
		case <-w.done:
			return
		case <-t.C:
		}
	}
}

// events reads what inotify says was written and reads it.
func (w *lagWatch) events() {
	defer w.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, err := w.ino.Read(buf)
		now := time.Now().UnixNano()
		if err != nil {
			return
		}
		w.mu.Lock()
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			wd := int32(binary.NativeEndian.Uint32(buf[off:]))
			off += syscall.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(buf[off+12:]))
			if lf := w.byWD[wd]; lf != nil {
				lf.read(now)
			} else if wd == -1 { // the queue overflowed: read them all
				for _, lf := range w.byWD {
					lf.read(now)
				}
			}
		}
		w.mu.Unlock()
	}
}

// read takes what was added to the log and notes the probes in it as
// seen at now; called with the watch's mu held.
func (lf *lagFile) read(now int64) {
	var buf [32 << 10]byte
	for {
		n, _ := lf.f.Read(buf[:])
		if n == 0 {
			return
		}
		lf.tail = append(lf.tail, buf[:n]...)
		for _, m := range lagRE.FindAllSubmatch(lf.tail, -1) {
			t, err := strconv.ParseInt(string(m[1]), 10, 64)
			if _, dup := lf.seen[t]; err == nil && !dup {
				lf.seen[t] = now
			}
		}
		// Keep what could be the start of a probe cut short.
		if k := len(lf.tail) - lagLen; k > 0 {
			lf.tail = append(lf.tail[:0], lf.tail[k:]...)
		}
	}
}

// stop ends the watch and closes the logs; what it saw stays.
func (w *lagWatch) stop() {
	select {
	case <-w.done:
		return // stopped already
	default:
	}
	close(w.done)
	w.ino.Close()
	w.wg.Wait()
	for _, lf := range w.files {
		if lf.f != nil {
			lf.f.Close()
		}
	}
}

// lagResult is the record lag of the probes sent in a window.
type lagResult struct {
	sent, samples int // probes sent in the window, and of those seen in a log
	p50, p99, max time.Duration
}

// result stops the watch and summarizes the probes sent between from and
// to (UnixNano): the lag of those that reached a log by now; the others
// are counted unseen.
func (w *lagWatch) result(from, to int64) lagResult {
	w.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	var r lagResult
	var d []time.Duration
	for _, lf := range w.files {
		for _, t := range lf.src.lagStamps() {
			if t < from || t > to {
				continue
			}
			r.sent++
			if at, ok := lf.seen[t]; ok {
				d = append(d, time.Duration(at-t))
			}
		}
	}
	r.samples = len(d)
	if len(d) == 0 {
		return r
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	r.p50, r.p99, r.max = d[len(d)/2], d[len(d)*99/100], d[len(d)-1]
	return r
}

// reportLag prints the record lag table.
func reportLag(rs []*result, rate int) {
	names := ""
	for _, r := range rs {
		if r.err == nil && r.lagNames != "" {
			names = r.lagNames
		}
	}
	if rate <= 0 || names == "" {
		fmt.Printf("\nrecord lag: not measured (silent consoles print no probe)\n")
		return
	}
	fmt.Printf("\nrecord lag (a \"LAG <time>\" line at the first write %v after the last one, on %s, %.0f B/s more than their %d B/s, in writes they make anyway;\n"+
		"time until it is in the console's log file, seen by inotify; unseen: sent in the measurement, not in the log 2 s after the sources stopped;\n"+
		"no server: 0 by definition)\n\n", lagEvery, names, lagLen/lagEvery.Seconds(), rate)
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "server\tsent\tsamples\tunseen\tp50\tp99\tmax\t")
	ms := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	for _, r := range rs {
		if r.err != nil {
			continue
		}
		l := r.lag
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%v\t%v\t%v\t\n", r.server, l.sent, l.samples, l.sent-l.samples, ms(l.p50), ms(l.p99), ms(l.max))
	}
	w.Flush()
}
