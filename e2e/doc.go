// Package e2e runs consoled end to end, the way people use it: the real
// consoled binary, the real OpenSSH client (in a pty where a person would
// have one), and real machines: the qemu guest of ../shared/harness/qemu
// over telnet, shells in ptys, and the built-in demo.
//
// Prerequisites are installed and built by test.sh. Run alone, the tests
// skip what is missing, unless CONSOLED_E2E=1 (test.sh sets it), in which
// case missing prerequisites fail the run.
package e2e
