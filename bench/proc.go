package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// tree lists pid and all its descendants.
func tree(pid int) []int {
	children := map[int][]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+2:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		p, _ := strconv.Atoi(filepath.Base(d))
		children[ppid] = append(children[ppid], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// cpuTicks is user+system time of pid and its descendants, live and reaped.
func cpuTicks(pid int) int64 {
	var total int64
	for _, p := range tree(pid) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		// fields after ")": state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
		for _, k := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseInt(f[k], 10, 64)
			total += v
		}
	}
	return total
}

// rssKiB is the sum of peak resident sizes (VmHWM) over the process tree;
// curRSSKiB the sum of current ones (VmRSS).
func rssKiB(pid int) int64 { return statusSum(pid, "VmHWM:") }

func curRSSKiB(pid int) int64 { return statusSum(pid, "VmRSS:") }

func statusSum(pid int, field string) int64 {
	var total int64
	for _, p := range tree(pid) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, field) {
				v, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
				total += v
			}
		}
	}
	return total
}

const ticksPerSecond = 100 // USER_HZ on Linux

// openFiles is how many descriptors pid and its descendants hold.
func openFiles(pid int) int {
	n := 0
	for _, p := range tree(pid) {
		if ents, err := os.ReadDir("/proc/" + strconv.Itoa(p) + "/fd"); err == nil {
			n += len(ents)
		}
	}
	return n
}

// ioCalls sums the read and write system calls (syscr, syscw in
// /proc/PID/io) of pid and its descendants.
func ioCalls(pid int) (reads, writes int64) {
	for _, p := range tree(pid) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/io")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			v, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "syscr:":
				reads += v
			case "syscw:":
				writes += v
			}
		}
	}
	return reads, writes
}
