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
go test -run='^$' -fuzz='^FuzzCodec$' -fuzztime="$FUZZTIME" ./backend/telnet
go test -run='^$' -fuzz='^FuzzEscapeParser$' -fuzztime="$FUZZTIME" ./frontend
go test -run='^$' -fuzz='^FuzzParse$' -fuzztime="$FUZZTIME" ./config
go test -run='^$' -fuzz='^FuzzSOLPackets$' -fuzztime="$FUZZTIME" ./backend/ipmi
go test -run='^$' -fuzz='^FuzzParse$' -fuzztime="$FUZZTIME" ./internal/cmdargs

# 4. Everything, with the race detector.
go test -race -count=1 -timeout 15m ./...
