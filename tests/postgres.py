"""A throwaway PostgreSQL cluster on 127.0.0.1 for the tests, made with ``initdb`` and
``pg_ctl`` from Debian's ``postgresql`` package (``scripts/test-setup.sh`` installs it).

initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` user
and every server command runs through ``runuser``. The socket stays in the cluster's
own folder and the server listens on 127.0.0.1 only, on a free port. Clients log in
with a password, so the tests also see that it never shows in output or errors.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from smtp_sink import free_port

USER = "newsletter"
SERVER_OWNER = "postgres"
START_SECONDS = 30
FAST_AND_UNSAFE = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
    "-c max_connections=200 -c shared_buffers=64MB",
)


class PostgresMissing(RuntimeError):
    """The PostgreSQL server programs are not installed."""


def binaries() -> Path:
    """The newest installed server's bin folder."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if not found:
        raise PostgresMissing("no /usr/lib/postgresql/*/bin/initdb: install Debian's postgresql")
    return Path(found[-1]).parent


@dataclass
class Cluster:
    folder: Path
    port: int
    password: str
    bin: Path

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str, driver: str = "postgresql") -> str:
        return f"{driver}://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str | Path) -> None:
        args = [str(part) for part in command]
        if os.geteuid() == 0:
            args = ["runuser", "-u", SERVER_OWNER, "--", *args]
        result = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{Path(args[-1]).name}: {result.stderr or result.stdout}")

    def start(self) -> Cluster:
        password_file = self.folder / "password"
        password_file.write_text(self.password)
        self._give_away(password_file)
        self._run(
            self.bin / "initdb",
            "-D",
            self.data,
            "-U",
            USER,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={password_file}",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        password_file.unlink()
        options = " ".join(
            (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1", *FAST_AND_UNSAFE)
        )
        log = self.folder / "server.log"
        self._run(self.bin / "pg_ctl", "-D", self.data, "-l", log, "-o", options, "-w", "start")
        return self

    def _give_away(self, path: Path) -> None:
        if os.geteuid() == 0:
            owner = pwd.getpwnam(SERVER_OWNER)
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def stop(self) -> None:
        try:
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=USER,
            password=self.password,
            dbname="postgres",
            autocommit=True,
        )

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        with self.admin() as connection:
            if connection.info.server_version >= 150000:
                statement += sql.SQL(" STRATEGY FILE_COPY")  # four times faster here
            connection.execute(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.admin() as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def start_cluster() -> Cluster:
    """A running cluster in a new folder below the system's temporary folder (a pytest
    folder is private to root, where the server's user could not reach it)."""
    bin_folder = binaries()
    folder = Path(tempfile.mkdtemp(prefix="newsletter-pg-"))
    cluster = Cluster(folder, free_port(), secrets.token_urlsafe(18), bin_folder)
    if os.geteuid() == 0:
        cluster._give_away(folder)
    deadline = time.monotonic() + START_SECONDS
    try:
        cluster.start()
        while time.monotonic() < deadline:
            try:
                cluster.admin().close()
                return cluster
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise RuntimeError("the PostgreSQL server did not answer")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
