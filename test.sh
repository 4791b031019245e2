#!/usr/bin/env bash
# test.sh — run every consoled test on a fresh Debian machine with Go.
# Installs what the tests need (apt: qemu, OpenSSH client, OpenIPMI, ...),
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

# 1. Debian packages: apt-get update once, then install only what is missing.
pkgs=(qemu-system-x86 busybox-static cpio openssh-client socat openipmi ipmitool expect conserver-server conserver-client conman curl)
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
# fuzz TARGET PKG: a short fuzz pass. A crash writes its input under
# testdata/fuzz and fails the run. Go's fuzzing engine sometimes ends a
# time-limited run with "context deadline exceeded" while minimizing a new
# input, with nothing found: that is reported, not counted as a failure.
fuzz() {
  local out rc=0
  out=$(go test -run='^$' -fuzz="^$1\$" -fuzztime="$FUZZTIME" "$2" 2>&1) || rc=$?
  echo "$out"
  if [ "$rc" -ne 0 ]; then
    if grep -q "Failing input written to" <<<"$out" || ! grep -q "context deadline exceeded" <<<"$out"; then
      echo "test.sh: fuzzing $1 in $2 found a failure" >&2
      exit 1
    fi
    echo "test.sh: fuzzing $1 stopped at the time limit without a failing input (engine timeout, not a finding)"
  fi
}
fuzz FuzzCodec ./backend/telnet
fuzz FuzzEscapeParser ./frontend
fuzz FuzzParse ./config
fuzz FuzzSOLPackets ./backend/ipmi
fuzz FuzzParse ./internal/cmdargs

# 4. Everything, with the race detector.
go test -race -count=1 -timeout 15m ./...
