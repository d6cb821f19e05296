"""The one file format: an uncompressed zip of a JSON document and pickle-free .npy arrays.

Layout::

    manifest.json   {"format": "minigrad", "format_version": 1, "kind": ..., "sha256": {entry: hex}}
    document.json   the JSON document; arrays appear in it as {"__ndarray__": i}
    arrays/<i>.npy  the arrays (np.lib.format, allow_pickle=False)

Loading never executes code: JSON is data, arrays are read with allow_pickle=False and plain
numeric dtypes only, and classes named in documents are resolved only through the registries.
Entries must be stored (not deflated), so an archive can never expand beyond its size on disk
(no zip bombs), and every entry's SHA-256 is checked against the manifest, so a truncated,
bit-flipped or edited file fails with SerializationError. The checksum detects corruption and
careless edits; it is not a signature (whoever can write the file can rewrite the manifest) —
safety against hostile files comes from the format itself holding nothing executable.

Writes are atomic: a temporary file in the target's folder is written, flushed and fsync'ed, then
os.replace'd over the target and the folder fsync'ed, so a crash at any moment leaves either the
old file or the new one. A killed writer's temporary file (named with its pid) is removed by the
next save of the same target.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from typing import Any, BinaryIO, Callable

import numpy as np

from minigrad.errors import SerializationError

__all__ = ["FORMAT_VERSION", "atomic_write", "write_archive", "read_archive", "pack", "unpack"]

FORMAT = "minigrad"
FORMAT_VERSION = 1
_MANIFEST, _DOCUMENT = "manifest.json", "document.json"
_MARK = "__ndarray__"
_DTYPE_KINDS = "biuf"  # bool, ints, floats: nothing that can hold Python objects


# ----- atomic writes
def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call write(f) on a temp file beside path, fsync it, then atomically replace path with it."""
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path}: folder {folder} does not exist")
    prefix = f".{os.path.basename(path)}."
    _remove_orphans(folder, prefix)
    fd, tmp = tempfile.mkstemp(prefix=f"{prefix}{os.getpid()}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), _default_mode())  # mkstemp makes 0600; a saved model is a normal file
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(folder)  # makes the rename itself durable


def _remove_orphans(folder: str, prefix: str) -> None:
    """Delete temp files of this target left by writers that were killed (their pid is gone)."""
    for name in os.listdir(folder):
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                os.unlink(os.path.join(folder, name))
            except FileNotFoundError:  # another writer cleaned it first
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _default_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _fsync_dir(folder: str) -> None:
    if os.name == "nt":  # folders cannot be opened for fsync on Windows; NTFS journals renames
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ----- arrays inside JSON documents
def pack(obj: Any, arrays: list[np.ndarray]) -> Any:
    """JSON-able copy of obj with every ndarray moved to `arrays` and replaced by {'__ndarray__': i}."""
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in _DTYPE_KINDS:
            raise TypeError(f"saving: arrays must be bool/int/float, received dtype {obj.dtype}")
        arrays.append(obj)
        return {_MARK: len(arrays) - 1}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        if _MARK in obj:
            raise ValueError(f"saving: the key {_MARK!r} is reserved")
        for key in obj:
            if not isinstance(key, str):
                raise TypeError(f"saving: dict keys must be str, received {key!r}")
        return {k: pack(v, arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [pack(v, arrays) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"saving: cannot store a {type(obj).__name__} ({obj!r}); only JSON values and ndarrays")


def unpack(obj: Any, arrays: list[np.ndarray]) -> Any:
    """Inverse of pack."""
    if isinstance(obj, dict):
        if set(obj) == {_MARK}:
            i = obj[_MARK]
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(arrays):
                raise SerializationError(f"saved document refers to a missing array {i!r}")
            return arrays[i]
        return {k: unpack(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [unpack(v, arrays) for v in obj]
    return obj


# ----- write / read
def write_archive(path: str | os.PathLike, kind: str, document: Any) -> None:
    """Atomically write document (JSON values and ndarrays) as a checksummed archive of this kind."""
    arrays: list[np.ndarray] = []
    body = json.dumps(pack(document, arrays), allow_nan=True).encode()
    entries = {_DOCUMENT: body}
    for i, array in enumerate(arrays):
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.asarray(array), allow_pickle=False)
        entries[f"arrays/{i}.npy"] = buf.getvalue()
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind,
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in entries.items()},
    }

    def write(f: BinaryIO) -> None:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr(_MANIFEST, json.dumps(manifest))
            for name, data in entries.items():
                zf.writestr(name, data)

    atomic_write(path, write)


def read_archive(path: str | os.PathLike, kind: str | tuple[str, ...]) -> Any:
    """The document of an archive of the expected kind; SerializationError if it is anything else."""
    path = os.fspath(path)
    kinds = (kind,) if isinstance(kind, str) else kind
    try:
        with zipfile.ZipFile(path) as zf:
            entries = _read_entries(zf, path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as e:
        raise SerializationError(f"{path}: not a minigrad file, or truncated ({e})") from None
    manifest = _json(entries.pop(_MANIFEST, None), path, _MANIFEST)
    _check_manifest(manifest, entries, path, kinds)
    arrays = [_array(entries[f"arrays/{i}.npy"], path, i) for i in range(len(entries) - 1)]
    return unpack(_json(entries[_DOCUMENT], path, _DOCUMENT), arrays)


def _read_entries(zf: zipfile.ZipFile, path: str) -> dict[str, bytes]:
    entries: dict[str, bytes] = {}
    for info in zf.infolist():
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            raise SerializationError(f"{path}: entry {info.filename!r} is compressed; minigrad files are stored")
        if info.filename in entries:
            raise SerializationError(f"{path}: duplicate entry {info.filename!r}")
        entries[info.filename] = zf.read(info)  # zipfile checks each entry's CRC-32 here
    return entries


def _check_manifest(manifest: Any, entries: dict[str, bytes], path: str, kinds: tuple[str, ...]) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SerializationError(f"{path}: not a minigrad file (no minigrad manifest)")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise SerializationError(
            f"{path}: format version {version!r}; this minigrad reads versions 1..{FORMAT_VERSION} "
            "(upgrade minigrad to read newer files)"
        )
    if manifest.get("kind") not in kinds:
        raise SerializationError(
            f"{path}: holds a minigrad {manifest.get('kind')!r} file, expected {' or '.join(map(repr, kinds))}"
        )
    sums = manifest.get("sha256")
    n = len(entries) - 1
    expected = {_DOCUMENT, *(f"arrays/{i}.npy" for i in range(n))}
    if not isinstance(sums, dict) or set(sums) != set(entries) or set(entries) != expected:
        raise SerializationError(f"{path}: entries do not match the manifest (file edited or damaged)")
    for name, data in entries.items():
        if hashlib.sha256(data).hexdigest() != sums[name]:
            raise SerializationError(f"{path}: checksum mismatch in {name!r} (file corrupted or tampered with)")


def _json(data: bytes | None, path: str, name: str) -> Any:
    if data is None:
        raise SerializationError(f"{path}: not a minigrad file ({name} is missing)")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise SerializationError(f"{path}: {name} is not valid JSON ({e})") from None


def _array(data: bytes, path: str, i: int) -> np.ndarray:
    try:
        array = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise SerializationError(f"{path}: array {i} is unreadable ({e})") from None
    if array.dtype.kind not in _DTYPE_KINDS:
        raise SerializationError(f"{path}: array {i} has dtype {array.dtype}; only bool/int/float are allowed")
    return array
