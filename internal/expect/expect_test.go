package expect

import (
	"bytes"
	"math/rand/v2"
	"regexp"
	"testing"
)

// A match split over pieces of the stream is found as soon as its last
// piece arrives, however the stream is cut.
func TestMatchAcrossPieces(t *testing.T) {
	re := regexp.MustCompile(`Show State\s+task`)
	stream := append(bytes.Repeat([]byte("noise line\r\n"), 3000), "sysrq: Show State\r\n  task:init"...)
	end := len(stream) - len(":init") // the match ends here
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 40 {
		w := New(re, 1<<10)
		for off := 0; off < len(stream); {
			n := 1 + rng.IntN(300)
			if trial%7 == 0 {
				n = 1 // byte by byte
			}
			n = min(n, len(stream)-off)
			w.Add(stream[off : off+n])
			off += n
			if got, want := w.Match(), off >= end; got != want {
				t.Fatalf("trial %d: after %d bytes Match() = %v, want %v", trial, off, got, want)
			}
		}
	}
}

// Memory stays bounded by the window however much passes, and what left
// the window is no longer matched.
func TestWindowIsBounded(t *testing.T) {
	const size = 64 << 10
	w := New(regexp.MustCompile(`NEEDLE`), size)
	w.Add([]byte("NEEDLE"))
	if !w.Match() {
		t.Fatal("NEEDLE not found")
	}
	piece := bytes.Repeat([]byte("x"), 1000)
	for i := range 300 { // 300 KB: the window turns over several times
		w.Add(piece)
		if w.Match() != (i < (size-len("NEEDLE"))/len(piece)) {
			t.Fatalf("after %d pieces Match() = %v, want the NEEDLE found while in the last %d bytes", i+1, w.Match(), size)
		}
		if cap(w.buf) > 3*size {
			t.Fatalf("after %d pieces the window holds a %d-byte buffer, over 3x its size", i+1, cap(w.buf))
		}
	}
	if w.Len() != size {
		t.Errorf("Len() = %d, want %d", w.Len(), size)
	}
	w.Add(append(bytes.Repeat([]byte("y"), 2*size), "NEEDLE"...)) // one piece larger than the window
	if !w.Match() || w.Len() != size {
		t.Errorf("a piece larger than the window: Match() = %v, Len() = %d", w.Match(), w.Len())
	}
}
