"""Unprivileged OS users for servers that refuse to run as root, and folders they can reach.

PostgreSQL will not start as root and Mosquitto started as root drops to its ``mosquitto``
user. When the launcher runs as root (CI does) the server's folder must be owned by that
user *and* every parent folder must let it through; a data folder under ``/root`` or a
pytest temp folder (mode 0700) does not, so such servers get a private folder under the
system temp folder instead, recorded in their state file.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class OsUser:
    """An OS account a server runs as (or drops to)."""

    name: str
    uid: int
    gid: int

    def popen_kwargs(self) -> dict[str, Any]:
        """``subprocess`` arguments that run the child as this user (only when we are root)."""
        if not is_root() or self.uid == 0:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": [], "env": self.env()}

    def env(self) -> dict[str, str]:
        """A minimal environment for the child: no root HOME, keep PATH and locale."""
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
        home = pwd.getpwuid(self.uid).pw_dir
        return {**keep, "HOME": home, "USER": self.name, "LOGNAME": self.name}


def is_root() -> bool:
    """True when this process runs with effective uid 0."""
    return os.geteuid() == 0


def lookup(name: str) -> OsUser | None:
    """The OS user called ``name``, or ``None`` when the machine has none."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return OsUser(name=entry.pw_name, uid=entry.pw_uid, gid=entry.pw_gid)


def can_write_as(user: OsUser, folder: Path) -> bool:
    """Check, by running ``test`` as that user, that it can reach and write ``folder``."""
    result = subprocess.run(
        ["test", "-w", str(folder), "-a", "-x", str(folder)],
        check=False,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd="/",
        **user.popen_kwargs(),
    )
    return result.returncode == 0


def can_read_tree_as(user: OsUser, root: Path, skip: tuple[str, ...] = ()) -> bool:
    """Check, by running ``find`` as that user, that it can reach ``root`` and read all below.

    Every file must be readable and every folder readable and traversable; ``skip`` names
    top-level entries of ``root`` that do not matter. ``find`` fails when it cannot reach
    ``root`` at all and prints the first entry it can reach but not read.
    """
    pruned: list[str] = []
    for name in skip:
        pruned += ["-path", str(root / name), "-prune", "-o"]
    unreadable = ["(", "-not", "-readable", "-o", "-type", "d", "-not", "-executable", ")"]
    result = subprocess.run(
        ["find", str(root), *pruned, *unreadable, "-print", "-quit"],
        check=False,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        cwd="/",
        timeout=60,
        **user.popen_kwargs(),
    )
    return result.returncode == 0 and not result.stdout.strip()


def chown_tree(root: Path, user: OsUser) -> None:
    """Give ``root`` and everything below it to ``user`` (symlinks are not followed)."""
    os.chown(root, user.uid, user.gid, follow_symlinks=False)
    for parent, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            os.chown(Path(parent) / name, user.uid, user.gid, follow_symlinks=False)


def fallback_folder(preferred: Path, label: str) -> Path:
    """The temp folder used instead of ``preferred`` when the server's user cannot reach it."""
    digest = hashlib.sha256(str(preferred.absolute()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"vigil-{label}-{digest}"


def owned_folder(preferred: Path, user: OsUser | None, label: str) -> Path:
    """A folder ``user`` owns and can reach: ``preferred`` when possible, else a temp one.

    Without a user to switch to (not root) this is just ``preferred``. The fallback name
    is derived from ``preferred`` so every process computes the same folder.
    """
    preferred.mkdir(parents=True, exist_ok=True)
    if user is None or not is_root():
        return preferred
    chown_tree(preferred, user)
    if can_write_as(user, preferred):
        return preferred
    fallback = fallback_folder(preferred, label)
    fallback.mkdir(mode=0o700, exist_ok=True)
    info = fallback.lstat()
    if stat.S_ISLNK(info.st_mode) or info.st_uid not in (0, user.uid):
        raise PermissionError(f"{fallback} exists and is not a folder owned by {user.name}")
    chown_tree(fallback, user)
    return fallback
