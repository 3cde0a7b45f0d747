#!/usr/bin/env bash
# Installs what the tests need beyond Python packages: Debian's Chromium for the browser
# checks, systemd-analyze for the deploy/ units, Dovecot for the IMAP bounce-mailbox
# tests, and the Node tools pinned in
# package.json (the Mailchimp contract mock and the reference MJML compiler). Safe to run
# again: it only installs what is missing.
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

if ! command -v systemd-analyze >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing systemd (Debian package) to check the deploy/ units..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
  else
    echo "systemd-analyze is missing and cannot be installed here: the unit check will skip." >&2
  fi
fi

if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Dovecot (Debian package dovecot-imapd) for the IMAP inbound tests..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd openssl >/dev/null
  else
    echo "Dovecot is missing and cannot be installed here: the IMAP tests will skip." >&2
  fi
fi

if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    echo "Installing Node tools from package-lock.json..."
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
