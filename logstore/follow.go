package logstore

import (
	"context"
	"os"
	"time"
)

// follower notices rotations under a reader that has reached the end of
// the record: the file the reader holds stops being NAME.log, and the
// files written since (usually just the new NAME.log; more if several
// rotations came within one poll) are added to the record, in order, so
// the reader goes on through them and a line cut by rotation stays whole.
type follower struct {
	rec  *record
	poll time.Duration
}

// wait sleeps a poll interval (less if finish closes), then adds the files
// rotation started since the reader r reached the end. It reports false
// when ctx ends.
func (fo *follower) wait(ctx context.Context, r *lineReader, finish <-chan struct{}) bool {
	t := time.NewTimer(fo.poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-finish:
	}
	fo.grow(r)
	return true
}

// closed reports whether ch is closed (nil never is).
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// grow adds to the record the files rotation started since the reader r
// reached the end.
func (fo *follower) grow(r *lineReader) {
	if r.file == nil || r.at.seg != len(fo.rec.segs)-1 {
		return
	}
	held, err := r.file.f.Stat()
	if err != nil {
		return
	}
	now, err := os.Stat(fo.rec.base)
	if err != nil || os.SameFile(held, now) {
		return
	}
	// Rotated: the held file is NAME.log.k now (found by its index, which
	// keeps its inode); NAME.log.k-1 .. NAME.log.1 and NAME.log came after.
	k := fo.rec.segs[r.at.seg].locate()
	if k == 0 {
		k = 1 // its index is gone (keep = 0): only the new NAME.log follows
	}
	for j := k - 1; j >= 0; j-- {
		fo.rec.segs = append(fo.rec.segs, newSegment(fo.rec.base, j))
	}
}
