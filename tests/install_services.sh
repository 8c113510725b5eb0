#!/usr/bin/env bash
# Install the servers the scale-out tests start themselves (PostgreSQL, nginx) from Debian's
# packages when they are missing. Needs root (CI runs as root); otherwise it says what to do.
set -euo pipefail
have_pg() { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_nginx() { command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx; }
missing=()
have_pg || missing+=(postgresql)
have_nginx || missing+=(nginx)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
    echo "The scale-out tests need ${missing[*]} (Debian packages); run as root or install them:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 0
fi
echo "Installing ${missing[*]} from Debian's packages for the scale-out tests" >&2
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
