#!/usr/bin/env bash
# Install what the tests start themselves from Debian's packages when it is missing: the servers
# of the scale-out tests (PostgreSQL, nginx) and the headless browser of the article page test
# (chromium). Needs root (CI runs as root); otherwise it says what to do.
set -euo pipefail
have_pg() { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_nginx() { command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx; }
have_chromium() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }
missing=()
have_pg || missing+=(postgresql)
have_nginx || missing+=(nginx)
have_chromium || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
    echo "The scale-out and article page tests need ${missing[*]} (Debian packages); run as root" \
        "or install them:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 0
fi
echo "Installing ${missing[*]} from Debian's packages for the scale-out and article page tests" >&2
# Install only: the tests start their own servers in temporary folders, so keep the packages'
# services from starting (policy-rc.d, as in Debian container images).
made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    made_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
