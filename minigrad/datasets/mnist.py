"""MNIST from the four official IDX .gz files, verified, shaped like keras.datasets.mnist.

The folders searched are `path` alone when given, else $MINIGRAD_DATA (when set) then
~/.cache/minigrad/mnist: the first that holds all four files is read. Otherwise the missing files are
downloaded into the first folder when the network allows; every file is checked against the official
size and sha256 before it is parsed.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from minigrad import validation
from minigrad.errors import SerializationError

ENV_VAR = "MINIGRAD_DATA"
DEFAULT_DIR = Path("~/.cache/minigrad/mnist")
# file name -> (size in bytes, sha256) of the official release
FILES: dict[str, tuple[int, str]] = {
    "train-images-idx3-ubyte.gz": (
        9_912_422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train-labels-idx1-ubyte.gz": (
        28_881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "t10k-images-idx3-ubyte.gz": (
        1_648_877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "t10k-labels-idx1-ubyte.gz": (
        4_542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}
# public mirrors of the official files, tried in order
MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
TIMEOUT_S = 10.0
_IDX_MAGIC = {2049: 1, 2051: 3}  # labels are 1-d, images 3-d; both uint8 (type code 0x08)
_CHUNK = 1 << 20
_MAX_VALUES = 1 << 31

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


PathLike = str | os.PathLike[str]


def search_path(path: PathLike | None = None, also: Iterable[PathLike] = ()) -> list[Path]:
    """The folders load_data(path) looks in, in order: [path], else [$MINIGRAD_DATA, user cache];
    then `also` (e.g. a test suite's shared data folder)."""
    path = validation.path(path, "mnist.load_data", "path", none=True)
    chosen = [path] if path is not None else [os.environ.get(ENV_VAR) or None, DEFAULT_DIR]
    return [Path(folder).expanduser() for folder in [*chosen, *also] if folder is not None]


def find(folders: Iterable[PathLike]) -> Path | None:
    """The first of `folders` that holds all four MNIST files, else None (files are not verified)."""
    return next((Path(f) for f in folders if all((Path(f) / name).is_file() for name in FILES)),
                None)


def data_dir(path: PathLike | None = None) -> Path:
    """The folder load_data(path) reads: the first of search_path(path) holding the four files, else
    the first one (where missing files are downloaded)."""
    folders = search_path(path)
    folder = find(folders) or folders[0]
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"mnist.load_data: {folder} is not a folder; pass the folder "
                                 f"that holds the four MNIST .gz files")
    return folder


def load_data(path: PathLike | None = None) -> Split:
    """((x_train, y_train), (x_test, y_test)) like keras.datasets.mnist.load_data().

    uint8 arrays shaped (60000, 28, 28), (60000,), (10000, 28, 28), (10000,); pixels 0..255.
    """
    folder = data_dir(path)
    missing = [name for name in FILES if not (folder / name).exists()]
    if missing:
        download(folder, missing)
    for name in FILES:
        _verify_file(folder / name)
    x_train = _read_checked(folder / "train-images-idx3-ubyte.gz", (60_000, 28, 28))
    y_train = _read_checked(folder / "train-labels-idx1-ubyte.gz", (60_000,))
    x_test = _read_checked(folder / "t10k-images-idx3-ubyte.gz", (10_000, 28, 28))
    y_test = _read_checked(folder / "t10k-labels-idx1-ubyte.gz", (10_000,))
    return (x_train, y_train), (x_test, y_test)


def _verify_file(file: Path) -> None:
    """Raise SerializationError unless file has the official size and sha256 of its name."""
    size, sha256 = FILES[file.name]
    actual_size = file.stat().st_size
    if actual_size != size:
        raise SerializationError(
            f"MNIST file {file} has {actual_size:,} bytes, expected {size:,}: it is truncated or "
            f"not the official file; delete it and let load_data download it, or copy the "
            f"official {file.name} there")
    digest = _sha256(file)
    if digest != sha256:
        raise SerializationError(
            f"MNIST file {file} has sha256 {digest}, expected {sha256}: it was modified or "
            f"corrupted; delete it and let load_data download it, or copy the official "
            f"{file.name} there")


def read_idx(file: str | os.PathLike[str]) -> np.ndarray:
    """Parse a gzipped IDX file of uint8 (magic 2049: labels (N,), 2051: images (N, H, W))."""
    try:
        with gzip.open(file, "rb") as f:
            return _parse_idx(f, file)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:  # how gzip reports a damaged stream
        raise SerializationError(f"IDX file {file}: not a complete gzip stream ({exc})") from exc


def download(folder: Path, names: list[str]) -> None:
    """Fetch names into folder from MIRRORS (verified, atomic writes), or say what to put where."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            _download_from_mirrors(folder / name)
    except OSError as exc:
        still_missing = [n for n in names if not (folder / n).exists()]
        raise FileNotFoundError(
            f"MNIST files missing and could not be downloaded. Put these files in {folder}: "
            f"{', '.join(still_missing)} (the official IDX .gz files, e.g. from "
            f"http://yann.lecun.com/exdb/mnist/), or pass load_data(path=...) or set {ENV_VAR} "
            f"to a folder that holds them. Download errors: {exc}") from exc


def _download_from_mirrors(dest: Path) -> None:
    from http.client import HTTPException  # imported on use, like urllib

    failures = []
    for mirror in MIRRORS:
        try:
            return _download_one(mirror + dest.name, dest)
        except (OSError, ValueError, HTTPException) as exc:  # ValueError: includes a bad checksum
            failures.append(f"{mirror}{dest.name}: {exc}")
    raise OSError("; ".join(failures) or "no mirror configured")


def _download_one(url: str, dest: Path) -> None:
    import urllib.request  # imported on use: it is slow to import and rarely needed

    size, sha256 = FILES[dest.name]
    # temp file in the same folder so that the final rename is atomic
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
            while chunk := resp.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        got = tmp.stat().st_size
        if got != size or digest.hexdigest() != sha256:
            raise SerializationError(f"downloaded {got:,} bytes with sha256 {digest.hexdigest()}, "
                                     f"expected {size:,} bytes with sha256 {sha256}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _read_checked(file: Path, shape: tuple[int, ...]) -> np.ndarray:
    array = read_idx(file)
    if array.shape != shape:
        raise SerializationError(f"MNIST file {file}: holds an array of shape {array.shape}, "
                                 f"expected {shape}")
    if len(shape) == 1 and array.max(initial=0) > 9:
        raise SerializationError(f"MNIST file {file}: label {array.max()} outside 0..9")
    return array


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _parse_idx(f: gzip.GzipFile, file: object) -> np.ndarray:
    magic, n = struct.unpack(">II", _read_exactly(f, 8, file, "the header"))
    if magic not in _IDX_MAGIC:
        raise SerializationError(
            f"IDX file {file}: magic number {magic}, expected 2049 (labels) or 2051 (images)")
    n_rest = _IDX_MAGIC[magic] - 1
    dims = (n, *struct.unpack(f">{n_rest}I", _read_exactly(f, 4 * n_rest, file, "the header")))
    if np.prod(dims, dtype=np.float64) > _MAX_VALUES:  # a forged header must not allocate GiBs
        raise SerializationError(
            f"IDX file {file}: header announces shape {dims}, more than {_MAX_VALUES:,} values")
    out = np.empty(dims, dtype=np.uint8)
    _readinto_exactly(f, memoryview(out).cast("B"), file, f"the {dims} uint8 values")
    if f.read(1):
        raise SerializationError(
            f"IDX file {file}: data continues after the {dims} values its header announces")
    return out


def _read_exactly(f: gzip.GzipFile, n: int, file: object, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise SerializationError(
            f"IDX file {file}: ends after {len(data)} of the {n} bytes of {what}")
    return data


def _readinto_exactly(f: gzip.GzipFile, buf: memoryview, file: object, what: str) -> None:
    filled = 0
    while filled < len(buf):
        got = f.readinto(buf[filled:])
        if not got:
            raise SerializationError(
                f"IDX file {file}: ends after {filled:,} of the {len(buf):,} bytes of {what}")
        filled += got
