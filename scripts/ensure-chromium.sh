#!/usr/bin/env bash
# Makes sure Debian's chromium is at /usr/bin/chromium, which the browser tests drive through
# playwright-core (it never downloads a browser). Run by `npm test` / `bun run test` (pretest) and
# by .ci/run. Installs it with apt-get when it is missing and this user may (root, or sudo without
# a password); otherwise stops at once with one line saying what to install. Never skips.
set -uo pipefail

chromium=/usr/bin/chromium
[ -x "$chromium" ] && exit 0

as_root=()
if [ "$EUID" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root=(sudo -n); else as_root=(none); fi
fi
if command -v apt-get >/dev/null 2>&1 && [ "${as_root[0]:-}" != none ]; then
  echo "ensure-chromium: $chromium is missing; installing Debian's chromium for the browser tests (apt-get install chromium)" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq >&2 &&
    "${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >&2
  [ -x "$chromium" ] && exit 0
fi

echo "ensure-chromium: the browser tests need Debian's chromium at $chromium; install it as root with: apt-get install -y --no-install-recommends chromium" >&2
exit 1
