#!/usr/bin/env bash
# Installs what the tests need beyond Python packages: Debian's Chromium for the browser
# checks, SpamAssassin for `newsletter check --spam`, systemd-analyze for the deploy/
# units, Postfix for its smtp-sink (the receiving end of benchmarks/send.py), Dovecot for
# the IMAP bounce-mailbox tests, PostgreSQL's server programs (the tests start their own
# throwaway cluster on 127.0.0.1 and leave the system's cluster alone), and the Node tools
# pinned in package.json (the Mailchimp contract mock and the reference MJML compiler).
# Safe to run again: it only installs what is missing.
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

if [ ! -x /usr/sbin/smtp-sink ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Postfix (Debian package) for smtp-sink, the send benchmark's receiver..."
    # "No configuration" writes no main.cf, so the package starts no mail server.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null
    # Should a daemon run all the same, it is stopped and kept from starting at boot:
    # nothing here may listen on port 25.
    if postfix status >/dev/null 2>&1; then
      postfix stop >/dev/null 2>&1 || true
    fi
    update-rc.d postfix disable >/dev/null 2>&1 || true
    if [ -d /run/systemd/system ]; then
      systemctl disable --now postfix >/dev/null 2>&1 || true
    fi
  else
    echo "Postfix's smtp-sink is missing: benchmarks/send.py will fall back to aiosmtpd." >&2
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
