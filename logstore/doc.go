// Package logstore records a console's output to disk, byte for byte, with
// size-based rotation.
//
// # Format
//
// The current log of console NAME is DIR/NAME.log. It holds the bytes the
// machine printed, in order, and event marks that consoled adds. A mark is
// always a line of its own:
//
//	[-- consoled: EVENT TIME --]
//	[-- consoled: console up 2026-11-23T10:00:00Z --]
//
// EVENT is one line (runs of white space become one space); TIME is when
// the event happened, UTC, RFC 3339. A mark is never more than that line.
//
// An event that comes while the machine is mid-line (a shell prompt always
// is) waits up to holdFor (50 ms) for the line to end, and is written right
// after its "\n". When the line does not end by then, or the event ends it
// (MarkEnd: the connection went down; consoled stops; the first mark after
// consoled started again on a file left mid-line, e.g. by kill -9),
// consoled ends the line itself and flags the mark "(mid-line)":
//
//	bash-5.2# \n
//	[-- consoled: bob attached rw from 10.0.0.7 2026-11-23T10:00:00Z (mid-line) --]\n
//	ls\r\n
//
// The flag says that the "\n" just before the mark is consoled's: the
// machine printed "bash-5.2# ls\r\n". So what the machine printed is
// exactly the file without its mark lines and without the "\n" before each
// flagged mark (MachineBytes); ParseMark is the parser of a mark line. Only
// the first of several marks written together can be flagged. A machine
// that prints a line looking like a mark cannot be told from consoled.
//
// # Time index
//
// Beside each log file is NAME.log.idx: one 16-byte entry (little-endian
// int64 Unix seconds, int64 byte offset) for every second in which the
// console printed something, giving the offset of the first byte written in
// that second. A time range is found by a binary search, not a scan.
//
// Entries reach the index by way of the directory's index journal,
// DIR/.consoled-index.journal (JournalName), so that a trickle of output
// on thousands of consoles does not cost an open, a write and a close of
// an index per console per second. The journal is one file and one
// descriptor for the whole directory, locked (flock) by the process that
// writes it. Each flusher pass writes the entries of every log it flushed
// to the journal in one write, after the logs' bytes: a record (see
// recover.go) names the console and the inode of the file the entry
// indexes. Each log's entries are then consolidated into its own
// NAME.log.idx, through a handle opened for that append and closed at
// once: all logs every 30 s (consolidateEvery), after which the journal is
// emptied; a log on its idle close, on Close, and before a rotation, which
// also writes a record saying that the file is renamed, so that no entry
// of it is ever applied to the next file; and a file's first entry at
// once (a reader knows a file by its index's inode). A log keeps the
// entries it journaled until they are consolidated (16 bytes per second of
// output, at most 30 s of them).
//
// Readers consolidate first: a query, a follow that reaches bytes past
// its index, the timeline, consolidate the console's journaled entries
// before reading its index, so they see the last second as before. A
// process that dies (kill -9, a crash) leaves entries in the journal: the
// next one to open a log in the directory merges them into the indexes
// before anything else, and so does a reader when no process holds the
// journal (`consoled logs -data DIR` on the directory of a killed run).
// A reader that cannot merge (a consoled running on the directory holds
// the journal; a copy it cannot write) reads the journal instead, adding
// the log's entries to its index as a merge would, without writing. A
// merge adds only the entries of the file NAME.log is now (its inode),
// past the index's last entry and within the file, so merging twice adds
// nothing; the journal is emptied once merged. The journal counts in max_total (see Budget). A write of
// the journal that fails loses no entry a run that goes on will
// consolidate; a consolidation that fails loses its entries (the log
// matters more), as a failed index write always did.
//
// # Rotation
//
// NAME.log rotates at a line end: at the first "\n" that takes it into the
// last eighth of MaxSize (at most the last 64 KiB), so a file holds whole
// lines; only a line longer than that is cut, at MaxSize, which no file
// passes. NAME.log becomes NAME.log.1 (compressed to NAME.log.1.gz in the
// background, the gzip header comment saying "consoled log of console
// NAME"), NAME.log.1.gz becomes NAME.log.2.gz and so on, each with its .idx
// (offsets are in uncompressed bytes); NAME.log.Keep is the oldest kept.
// The stream goes on across files: a line cut at MaxSize goes on at the
// start of the next file, and a mark there is flagged mid-line as usual.
// A Budget shared by all consoles (max_total) bounds the console logs of
// the directory: see Budget for exactly what it counts and removes.
//
// # Batching and durability
//
// Output is buffered and written by one flusher goroutine for all consoles
// every flushEvery (90 ms), or at once when 64 KiB are pending: one write
// system call per console per interval, and a crash of consoled loses at
// most the last 90 ms. A mark is written at once (a held one as soon as it
// is written into the log), with whatever output is buffered before it.
// Close, Tail and rotation flush first.
//
// # Failure policy
//
// Recording never stops the console: when a write fails (disk full, I/O
// error) the bytes are counted as lost, Err reports the failure, it is
// logged (slog) when it starts and when writing works again, Stats counts
// each failed write, and the first successful write afterwards is preceded
// by a mark that says how many bytes are missing, when writing stopped and
// when it resumed, and why:
//
//	[-- consoled: log gap: 1234 bytes not recorded: writing stopped at T1 and resumed at T2: ERROR TIME --]
package logstore
