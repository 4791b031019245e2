#!/usr/bin/env bash
# test.sh — run every consoled test on a fresh Debian machine with Go.
# Installs what the tests need (apt: qemu, OpenSSH client, OpenIPMI, chromium, ...),
# builds the qemu guest of ../shared/harness, then runs go vet, short fuzz
# passes over the wire parsers, and the whole suite with -race.
#
# Env: HARNESS_WORK (guest build dir, default /tmp/consoled-harness),
#      CONSOLED_HARNESS (default ../shared/harness), FUZZTIME (default 5s).
set -euo pipefail
cd "$(dirname "$0")"

export CONSOLED_HARNESS="${CONSOLED_HARNESS:-$(cd .. && pwd)/shared/harness}"
export HARNESS_WORK="${HARNESS_WORK:-/tmp/consoled-harness}"
export CONSOLED_E2E=1 # missing prerequisites fail the e2e tests instead of skipping them
export CONSOLED_SOAK="${CONSOLED_SOAK:-3m}" # e2e TestIPMISoak: an IPMI console's soak (1h when unset)

# 1. Debian packages: apt-get update once, then install only what is missing.
pkgs=(qemu-system-x86 busybox-static cpio openssh-client socat openipmi ipmitool expect conserver-server conserver-client conman curl chromium tmux)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "test.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# 2. The qemu guest (kernel + busybox initramfs), once, not per test.
mkdir -p "$HARNESS_WORK"
"$CONSOLED_HARNESS/qemu/build.sh"

# 3. Static checks and short fuzz passes over the parsers of wire bytes and config.
go vet ./...
FUZZTIME="${FUZZTIME:-5s}"
# engine_timeout TARGET RC OUTPUT: true only for the known Go fuzz engine
# time-out (golang/go#75804, fixed in Go 1.27): the coordinator's -fuzztime
# deadline races its workers and the run fails with nothing found. Its exact
# shape: exit status 1; one "--- FAIL: TARGET (N.NNs)" line followed by the
# line "    context deadline exceeded" and nothing else said about the
# failure; no failing input written; no panic. Anything else is a failure.
engine_timeout() {
  local target=$1 rc=$2 out=$3
  [ "$rc" -eq 1 ] || return 1
  ! grep -qE 'Failing input written to|^panic:|fuzzing process hung|^\s+[a-z_]+\.go:[0-9]+:' <<<"$out" || return 1
  [ "$(grep -c -- '^--- FAIL' <<<"$out")" -eq 1 ] || return 1
  awk -v t="$target" '
    fail { ok = ($0 == "    context deadline exceeded"); fail = 0; next }
    $0 ~ "^--- FAIL: " t " \\([0-9.]+s\\)$" { fail = 1 }
    END { exit !ok }' <<<"$out" || return 1
  # After the message only go test's own trailer may follow.
  awk '/^    context deadline exceeded$/ { after = 1; next }
       after && !/^(FAIL|exit status 1|FAIL\t.*)$/ { bad = 1 }
       END { exit bad }' <<<"$out"
}

# fuzz TARGET PKG: a short fuzz pass. A crash writes its input under
# testdata/fuzz and fails the run; so does any other failure except the
# engine time-out above, which is reported (and not counted) when it happens.
fuzz() {
  local out rc=0
  out=$(go test -run='^$' -fuzz="^$1\$" -fuzztime="$FUZZTIME" "$2" 2>&1) || rc=$?
  echo "$out"
  if [ "$rc" -eq 0 ]; then
    # go test passes a package that has no such target without fuzzing.
    grep -q '^fuzz: elapsed:' <<<"$out" && return 0
    echo "test.sh: no fuzz target $1 in $2 (nothing was fuzzed)" >&2
    exit 1
  fi
  if engine_timeout "$1" "$rc" "$out"; then
    echo "test.sh: NOTE: fuzzing $1 in $2 hit Go's fuzz engine time-out (golang/go#75804: exit status 1, \"context deadline exceeded\" at the -fuzztime limit, no failing input); not counted as a finding"
    return 0
  fi
  echo "test.sh: fuzzing $1 in $2 failed (exit status $rc)" >&2
  exit 1
}

# The classifier checks itself on the known shapes before it is trusted.
fuzz_selftest() {
  local nl=$'\n' bad
  local timeout="fuzz: elapsed: 5s, execs: 1 (0/sec), new interesting: 0 (total: 3)${nl}--- FAIL: FuzzX (5.02s)${nl}    context deadline exceeded${nl}FAIL${nl}exit status 1${nl}FAIL	consoled/x	5.031s"
  engine_timeout FuzzX 1 "$timeout" || { echo "test.sh: fuzz self-test: the engine time-out is not recognised" >&2; exit 1; }
  local -a bads=(
    "2|$timeout"
    "1|${timeout/FuzzX (5.02s)/FuzzY (5.02s)}"
    "1|${timeout/    context deadline exceeded/    Failing input written to testdata/fuzz/FuzzX/abc}"
    "1|${timeout/    context deadline exceeded/    x_test.go:12: context deadline exceeded}"
    "1|${timeout/    context deadline exceeded/    context deadline exceeded${nl}    more detail}"
    "1|${timeout/${nl}FAIL${nl}exit/${nl}panic: boom${nl}exit}"
    "1|--- FAIL: FuzzX (0.01s)${nl}    x_test.go:9: got 1, want 2 (context deadline exceeded)${nl}FAIL${nl}exit status 1"
  )
  for bad in "${bads[@]}"; do
    if engine_timeout FuzzX "${bad%%|*}" "${bad#*|}"; then
      echo "test.sh: fuzz self-test: a real failure would be forgiven:${nl}${bad#*|}" >&2
      exit 1
    fi
  done
}
fuzz_selftest
fuzz FuzzCodec ./backend/telnet
fuzz FuzzEscapeParser ./frontend/escape
fuzz FuzzParse ./config
fuzz FuzzSOLPackets ./backend/ipmi
fuzz FuzzParse ./internal/cmdargs
fuzz FuzzReplay ./termsafe
fuzz FuzzParse ./authkeys
fuzz FuzzKRL ./authkeys
fuzz FuzzSelect ./consoleset
fuzz FuzzTerm ./vterm

# 4. Everything, with the race detector.
go test -race -count=1 -timeout 15m ./...
