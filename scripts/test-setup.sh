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

apt_updated=""

# install_from_debian WHY IF-NOT PACKAGE...: installs the packages (apt-get options may be
# among them) when this is a Debian machine and we are root; otherwise prints IF-NOT.
install_from_debian() {
  local why=$1 if_not=$2 argument
  shift 2
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$if_not" >&2
    return 1
  fi
  local packages=()
  for argument in "$@"; do
    [[ $argument == -* ]] || packages+=("$argument")
  done
  echo "Installing ${packages[*]} (Debian) for $why..."
  if [ -z "$apt_updated" ]; then
    apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v chromium >/dev/null 2>&1; then
  install_from_debian "the browser tests" \
    "Chromium is missing and cannot be installed here: browser tests will skip." \
    chromium || true
fi

if ! command -v spamassassin >/dev/null 2>&1; then
  install_from_debian "the spam score tests" \
    "SpamAssassin is missing and cannot be installed here: spam score tests will skip." \
    spamassassin || true
fi

if ! command -v systemd-analyze >/dev/null 2>&1; then
  install_from_debian "checking the deploy/ units" \
    "systemd-analyze is missing and cannot be installed here: the unit check will skip." \
    systemd || true
fi

if [ ! -x /usr/sbin/smtp-sink ]; then
  # "No configuration" writes no main.cf, so the package starts no mail server.
  if command -v debconf-set-selections >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  fi
  if install_from_debian "smtp-sink, the send benchmark's receiver" \
    "Postfix's smtp-sink is missing: benchmarks/send.py will fall back to aiosmtpd." \
    --no-install-recommends postfix; then
    # Should a daemon run all the same, it is stopped and kept from starting at boot:
    # nothing here may listen on port 25.
    if postfix status >/dev/null 2>&1; then
      postfix stop >/dev/null 2>&1 || true
    fi
    update-rc.d postfix disable >/dev/null 2>&1 || true
    if [ -d /run/systemd/system ]; then
      systemctl disable --now postfix >/dev/null 2>&1 || true
    fi
  fi
fi

if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then
  install_from_debian "the IMAP inbound tests" \
    "Dovecot is missing and cannot be installed here: the IMAP tests will skip." \
    dovecot-imapd openssl || true
fi

if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  # The tests start clusters of their own; the package need not create and start one.
  if [ "$(id -u)" = 0 ]; then
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/newsletter-tests.conf
  fi
  install_from_debian "the tests on PostgreSQL" \
    "PostgreSQL is missing and cannot be installed here: its tests will skip." \
    postgresql || true
fi

if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    echo "Installing Node tools from package-lock.json..."
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
