"""A throwaway Dovecot IMAP server on 127.0.0.1 for the inbound tests.

Everything lives in a fresh folder: the configuration, a passwd-file with one user,
the Maildir, the sockets and the log. The server runs as an unprivileged user (the
test's own, or ``nobody`` when the tests run as root), listens on free ports, plain IMAP
on one and IMAPS with a self-signed certificate on the other, and is stopped and
removed afterwards. Debian's ``dovecot-imapd`` (scripts/test-setup.sh installs it).
"""

from __future__ import annotations

import getpass
import grp
import imaplib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from smtp_sink import free_port

DOVECOT = ("dovecot", "/usr/sbin/dovecot")
USER = "inbound"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
  default_fields = uid={user} gid={group} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: scripts/test-setup.sh installs dovecot-imapd", pytrace=False)
    pytest.skip(reason)


def _binary() -> str:
    for name in DOVECOT:
        found = shutil.which(name) or (name if Path(name).is_file() else None)
        if found:
            return found
    _missing("Dovecot is not installed")
    raise AssertionError


def _account() -> tuple[str, str, int, int]:
    """Who the server runs as: this user, or nobody when the tests run as root."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return getpass.getuser(), grp.getgrgid(entry.pw_gid).gr_name, entry.pw_uid, entry.pw_gid
    entry = pwd.getpwnam("nobody")
    return "nobody", grp.getgrgid(entry.pw_gid).gr_name, entry.pw_uid, entry.pw_gid


def _certificate(root: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        _missing("openssl is not installed")
    subprocess.run(
        [str(openssl), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip


@dataclass
class Dovecot:
    root: Path
    imap_port: int
    imaps_port: int
    password: str
    process: subprocess.Popen | None = None

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / USER

    @property
    def certificate(self) -> Path:
        return self.root / "cert.pem"

    def url(
        self, folder: str = "INBOX", *, tls: bool = False, password: str = "", processed: str = ""
    ) -> str:
        secret = password or self.password
        query = f"?processed={processed}" if processed else ""
        if tls:
            return f"imaps://{USER}:{secret}@localhost:{self.imaps_port}/{folder}{query}"
        return f"imap://{USER}:{secret}@127.0.0.1:{self.imap_port}/{folder}{query}"

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10)
        client.login(USER, self.password)
        return client

    def append(self, *messages: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            for message in messages:
                status, answer = client.append(folder, None, None, message)
                assert status == "OK", answer
        finally:
            client.logout()

    def count(self, folder: str) -> int:
        client = self.client()
        try:
            status, answer = client.select(folder, readonly=True)
            return int(answer[0]) if status == "OK" else 0
        finally:
            client.logout()

    def flags(self, folder: str = "INBOX") -> list[bytes]:
        client = self.client()
        try:
            client.select(folder, readonly=True)
            _, data = client.fetch("1:*", "(FLAGS)")
            return [item for item in data if item]
        finally:
            client.logout()


def _wait_for(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Dovecot stopped at once: {log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail("Dovecot did not answer within 15 s")


def start() -> Dovecot:
    binary = _binary()
    user, group, uid, gid = _account()
    root = Path(tempfile.mkdtemp(prefix="nl-dovecot-"))
    server = Dovecot(root, free_port(), free_port(), secrets.token_urlsafe(12))
    for folder in ("run", "state", "mail", "home"):
        (root / folder).mkdir()
    _certificate(root)
    (root / "users").write_text(f"{USER}:{{PLAIN}}{server.password}::::\n")
    config = CONFIG.format(
        root=root, user=user, group=group, imap_port=server.imap_port,
        imaps_port=server.imaps_port,
    )  # fmt: skip
    (root / "dovecot.conf").write_text(config)
    os.chmod(root, 0o755)
    for path in [root, *root.rglob("*")]:
        os.chown(path, uid, gid)
    as_user = {"user": uid, "group": gid, "extra_groups": []} if os.geteuid() == 0 else {}
    server.process = subprocess.Popen(
        [binary, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **as_user,
    )  # fmt: skip
    _wait_for(server.imap_port, server.process, root / "dovecot.log")
    return server


def stop(server: Dovecot) -> None:
    if server.process is not None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    shutil.rmtree(server.root, ignore_errors=True)
