"""A throwaway PostgreSQL server for the tests of the PostgreSQL store.

Debian's `postgresql` package (`apt-get install postgresql`; `.ci/run` installs it) provides
`initdb` and `pg_ctl` under /usr/lib/postgresql/<version>/bin. The server lives in a temporary
folder: its data, its log and its Unix socket (TCP on 127.0.0.1 too, on a free port, with a
password, for the tests of credentials); fsync is off, nothing outlives the session. The server
refuses to run as root, so under root (CI) it runs as the `postgres` user the package creates.
Each test gets a fresh database whose default collation is ICU's English (`en-US`), not the
byte order the store relies on, so the store's own `COLLATE "C"` columns are what is tested.
When no server can be started, the tests that need one fail with the reason: never a skip."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.procs import free_port

PASSWORD = "s3cret-Pa55"  # the superuser's password over TCP (the socket needs none)
INSTALL_HINT = (
    "install Debian's PostgreSQL (`apt-get install -y postgresql`, as .ci/run does) or put "
    "initdb and pg_ctl on PATH"
)


class ServerError(RuntimeError):
    """No PostgreSQL server could be started for the tests."""


def tool(name: str) -> str:
    """The path of a PostgreSQL server program: on PATH, else the newest Debian install."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise ServerError(f"PostgreSQL's {name} was not found; {INSTALL_HINT}.")
    return candidates[-1]


@dataclass
class Server:
    """A running server: its folder (data, log, socket), port and superuser connections."""

    folder: Path
    port: int
    user: str | None  # the OS user it runs as (None: this process's own)
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))
    _icu: bool | None = None

    def url(self, database: str = "postgres") -> str:
        """A URL over the Unix socket (no password needed)."""
        return f"postgresql://postgres@/{database}?host={self.folder}&port={self.port}"

    def tcp_url(self, database: str = "postgres", password: str | None = PASSWORD) -> str:
        """A URL over TCP, with a password (the wrong one, if given so)."""
        secret = f":{password}" if password is not None else ""
        return f"postgresql://postgres{secret}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database (ICU English collation when the server has ICU); its
        URL."""
        import psycopg

        name = f"csm_test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            if self._icu is not False:
                try:
                    admin.execute(
                        f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                        "LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
                    )
                    self._icu = True
                    return self.url(name)
                except psycopg.Error:
                    self._icu = False
            admin.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a test's database, closing whatever connections it still has."""
        import psycopg

        name = url.split("?", 1)[0].rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """Stop the server at once and remove its folder."""
        _run([tool("pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w",
              "stop"], self.user, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def _run(argv: list[str], user: str | None, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, user=user, capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise ServerError(
            f"{Path(argv[0]).name} failed (exit {done.returncode}): "
            + (done.stderr or done.stdout).strip()[-1500:]
        )
    return done


def start() -> Server:
    """Start a throwaway server: initdb into a temporary folder, pg_ctl start; raises
    ServerError with the reason (and the server's log) when it cannot."""
    initdb, pg_ctl = tool("initdb"), tool("pg_ctl")
    user = None
    folder = Path(tempfile.mkdtemp(prefix="csm-pg-"))
    if os.geteuid() == 0:  # the server refuses root: run it as the package's postgres user
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            raise ServerError(
                "running as root and there is no `postgres` user to run the server as; "
                f"{INSTALL_HINT}."
            ) from None
        user = "postgres"
        os.chown(folder, account.pw_uid, account.pw_gid)
    secret = folder / "pwfile"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    if user:
        shutil.chown(secret, user)
    try:
        _run([initdb, "-N", "-D", str(folder / "data"), "-U", "postgres", "-E", "UTF8",
              "--no-locale", "--auth-local=trust", "--auth-host=scram-sha-256",
              f"--pwfile={secret}"], user)
        port = free_port()
        options = (f"-k {folder} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        started = _run([pg_ctl, "-D", str(folder / "data"), "-l", str(folder / "log"), "-w",
                        "-t", "60", "-o", options, "start"], user, check=False)
        if started.returncode != 0:
            log = (folder / "log").read_text(errors="replace")[-1500:] if (
                folder / "log").exists() else started.stderr
            raise ServerError(f"pg_ctl start failed (exit {started.returncode}): {log.strip()}")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Server(folder, port, user)
