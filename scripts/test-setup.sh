#!/usr/bin/env bash
# Installs what the tests need beyond Python packages: Debian's Chromium for the browser
# checks, SpamAssassin for `newsletter check --spam`, systemd-analyze for the deploy/
# units, PostgreSQL's server programs (the tests start their own throwaway cluster on
# 127.0.0.1; the system's own cluster is not used), and the Node tools pinned in package.json (the Mailchimp contract mock and the
# reference MJML compiler). Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Chromium (Debian package) for the browser tests..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium is missing and cannot be installed here: browser tests will skip." >&2
  fi
fi

if ! command -v spamassassin >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing SpamAssassin (Debian package) for the spam score tests..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spamassassin >/dev/null
  else
    echo "SpamAssassin is missing and cannot be installed here: spam score tests will skip." >&2
  fi
fi

if ! command -v systemd-analyze >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing systemd (Debian package) to check the deploy/ units..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
  else
    echo "systemd-analyze is missing and cannot be installed here: the unit check will skip." >&2
  fi
fi

if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing PostgreSQL (Debian package) for the tests on PostgreSQL..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL is missing and cannot be installed here: its tests will skip." >&2
  fi
fi

if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    echo "Installing Node tools from package-lock.json..."
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
