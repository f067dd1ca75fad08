#!/usr/bin/env bash
# `make install`, cheaply: the install rules and scripts/install-pactum run on the tree
# ctest built (no Release build here) into a temporary DESTDIR, and the installed binary
# answers --help from there; the Makefile passes PREFIX and DESTDIR through and defaults
# PREFIX to /usr/local.
#   tests/install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=${1:?source dir}
build=${2:?build dir}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install_test: $*" >&2; exit 1; }

out=$(DESTDIR="$tmp/root" PREFIX=/opt/pactum-test "$src/scripts/install-pactum" "$build")
bin="$tmp/root/opt/pactum-test/bin/pactum"
[[ "$out" == "installed $bin" ]] || fail "expected 'installed $bin', got: $out"
[[ -x "$bin" ]] || fail "$bin is not an executable"
[[ "$(stat -c %a "$bin")" == 755 ]] || fail "$bin has mode $(stat -c %a "$bin")"
# Nothing but the binary: the rest is built into it.
[[ "$(cd "$tmp/root" && find . -type f)" == "./opt/pactum-test/bin/pactum" ]] ||
  fail "unexpected files: $(cd "$tmp/root" && find . -type f)"
help=$(cd / && "$bin" --help) || fail "installed pactum --help failed"
[[ "$help" == *serve* && "$help" == *backup* ]] || fail "--help lacks the commands: $help"

# A relative PREFIX is refused with one line and exit 2, and installs nothing.
set +e
err=$(PREFIX=relative/dir DESTDIR="$tmp/rel" "$src/scripts/install-pactum" "$build" 2>&1 >/dev/null)
rc=$?
set -e
[[ $rc == 2 ]] || fail "relative PREFIX: exit $rc"
[[ $(printf '%s\n' "$err" | wc -l) == 1 && "$err" == *"absolute path"* ]] || fail "relative PREFIX: $err"
[[ ! -e "$tmp/rel" ]] || fail "relative PREFIX installed something"

# The Makefile's install target: Release build first, then this script with PREFIX and
# DESTDIR (dry run: nothing is built).
plan=$(make -s -n -C "$src" install PREFIX=/opt/p DESTDIR=/stage)
[[ "$plan" == *'PREFIX="/opt/p" DESTDIR="/stage" scripts/install-pactum build-release'* ]] ||
  fail "make install does not pass PREFIX and DESTDIR: $plan"
[[ "$plan" == *"-DCMAKE_BUILD_TYPE=Release"* ]] || fail "make install does not build Release: $plan"
default=$(make -s -n -C "$src" install)
[[ "$default" == *'PREFIX="/usr/local" DESTDIR=""'* ]] || fail "PREFIX does not default to /usr/local: $default"
echo "install_test: ok"
