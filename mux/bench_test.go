package mux

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"consoled/logstore"
)

// BenchmarkConsoleOutput measures the path every byte a machine prints
// takes: backend read, log, fan-out to one attached viewer.
func BenchmarkConsoleOutput(b *testing.B) {
	d := &pipeDialer{machines: make(chan net.Conn, 1)}
	lg, _ := logstore.Open(b.TempDir(), "m", logstore.Options{MaxSize: 1 << 30})
	defer lg.Close()
	c := New(Config{Name: "m", Dialer: d, Log: lg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	m := <-d.machines
	for c.Status().State != StateUp {
		time.Sleep(time.Millisecond)
	}
	viewer := c.Attach("v", "bench", false)
	go func() {
		for {
			if _, err := viewer.Next(ctx); err != nil {
				return
			}
		}
	}()
	line := []byte("[   12.345678] usb 1-1: new high-speed USB device number 2 using xhci_hcd\r\n")
	chunk := make([]byte, 0, 600)
	for len(chunk)+len(line) <= cap(chunk) {
		chunk = append(chunk, line...)
	}
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Write(chunk)
	}
	b.StopTimer()
	m.Close()
}
