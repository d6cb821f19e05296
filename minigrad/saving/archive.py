"""The one file format: an uncompressed zip of a JSON document and pickle-free .npy arrays.

Layout::

    manifest.json   {"format": "minigrad", "format_version": 1, "kind": ..., "sha256": {entry: hex}}
    document.json   the JSON document; arrays appear in it as {"__ndarray__": i}
    arrays/<i>.npy  the arrays (np.lib.format, allow_pickle=False)

Loading never executes code: JSON is data, arrays are read with allow_pickle=False and plain
numeric dtypes only, and classes named in documents are resolved only through the registries.
Entries must be stored (not deflated) and lie inside the file without overlapping, and every .npy
header must declare exactly the bytes its entry stores, so reading allocates at most about the
file's size (no zip bombs, no huge declared arrays); JSON parts are limited to 64 MiB and 100
levels of nesting. The manifest is read first and every entry's SHA-256 is checked against it as
the entry is read, so a truncated, bit-flipped or edited file fails with SerializationError. The checksum detects corruption and
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
import math
import os
import struct
import tempfile
import zipfile
from typing import Any, BinaryIO, Callable

import numpy as np

from minigrad import validation
from minigrad.errors import SerializationError

__all__ = ["FORMAT_VERSION", "MAX_DEPTH", "atomic_write", "write_archive", "read_archive", "pack", "unpack",
           "check_depth"]

FORMAT = "minigrad"
FORMAT_VERSION = 1
_MANIFEST, _DOCUMENT = "manifest.json", "document.json"
_MARK = "__ndarray__"
_DTYPE_KINDS = "biuf"  # bool, ints, floats: nothing that can hold Python objects
_DTYPES = {"b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8"}  # .npy descr, byte order aside
_MAX_NDIM = 32
_MAX_JSON_BYTES = 64 << 20  # a model's document is KBs; this only stops absurd files early
MAX_DEPTH = 100  # JSON nesting; model configs nest about 10 deep


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


def unpack(obj: Any, arrays: list[np.ndarray], path: str = "saved file") -> Any:
    """Inverse of pack (path names the file in errors)."""
    if isinstance(obj, dict):
        if set(obj) == {_MARK}:
            i = obj[_MARK]
            if not validation.is_int(i) or not 0 <= i < len(arrays):
                raise SerializationError(f"{path}: {_DOCUMENT} refers to a missing array {i!r} "
                                         f"(the file holds {len(arrays)})")
            return arrays[i]
        return {k: unpack(v, arrays, path) for k, v in obj.items()}
    if isinstance(obj, list):
        return [unpack(v, arrays, path) for v in obj]
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
    """The document of an archive of the expected kind; SerializationError if it is anything else.

    Nothing is read before its size is known to fit the file: the zip directory's entries must be
    stored, lie inside the file without overlapping, and the manifest is read and checked first;
    each entry is hashed as it is read and each .npy header is checked before its array exists.
    """
    path = os.fspath(path)
    kinds = (kind,) if isinstance(kind, str) else kind
    try:
        with open(path, "rb") as f, zipfile.ZipFile(f) as zf:
            infos = _checked_directory(zf, f, path)
            manifest = _json(_read_entry(zf, infos.get(_MANIFEST), path, _MANIFEST), path, _MANIFEST)
            sums = _check_manifest(manifest, infos, path, kinds)
            document = _json(_read_entry(zf, infos[_DOCUMENT], path, _DOCUMENT, sums[_DOCUMENT]), path, _DOCUMENT)
            arrays = [_array(_read_entry(zf, infos[name], path, name, sums[name]), path, name)
                      for name in (f"arrays/{i}.npy" for i in range(len(infos) - 2))]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, OverflowError) as e:
        raise SerializationError(f"{path}: not a minigrad file, or truncated ({e})") from None
    check_depth(document, path, _DOCUMENT)
    return unpack(document, arrays, path)


def _checked_directory(zf: zipfile.ZipFile, f: BinaryIO, path: str) -> dict[str, zipfile.ZipInfo]:
    """The directory by name, once every entry is stored and its bytes lie inside the file, unshared."""
    size = os.fstat(f.fileno()).st_size
    infos: dict[str, zipfile.ZipInfo] = {}
    spans = []
    for info in zf.infolist():
        name = info.filename
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            raise SerializationError(f"{path}: entry {name!r} is compressed; minigrad files are stored")
        if name in infos:
            raise SerializationError(f"{path}: duplicate entry {name!r}")
        infos[name] = info
        if not 0 <= info.header_offset < size:
            raise SerializationError(f"{path}: entry {name!r} has no local header at offset {info.header_offset}")
        f.seek(info.header_offset)
        header = f.read(zipfile.sizeFileHeader)
        if len(header) != zipfile.sizeFileHeader or header[:4] != zipfile.stringFileHeader:
            raise SerializationError(f"{path}: entry {name!r} has no local header at offset {info.header_offset}")
        fields = struct.unpack(zipfile.structFileHeader, header)
        start = info.header_offset + zipfile.sizeFileHeader + fields[zipfile._FH_FILENAME_LENGTH] \
            + fields[zipfile._FH_EXTRA_FIELD_LENGTH]
        spans.append((info.header_offset, start + info.file_size, name))
    spans.sort()
    end_of_entries = zf.start_dir
    for (_, end, name), (next_start, _, next_name) in zip(spans, [*spans[1:], (end_of_entries, 0, "the directory")]):
        if end > next_start:
            raise SerializationError(
                f"{path}: entry {name!r} declares {infos[name].file_size} bytes, which overlap "
                f"{next_name if next_name == 'the directory' else repr(next_name)} (file edited or forged)")
    total = sum(info.file_size for info in infos.values())
    if total > size:  # implied by the spans; stated so that no later change can lose it
        raise SerializationError(f"{path}: entries declare {total} bytes, more than the file's {size}")
    return infos


def _read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo | None, path: str, name: str,
                sha256: str | None = None) -> bytearray | None:
    """An entry's bytes (at most its checked size), hashed as they are read when sha256 is given."""
    if info is None:
        return None
    if name.endswith(".json") and info.file_size > _MAX_JSON_BYTES:
        raise SerializationError(f"{path}: {name} is {info.file_size} bytes; JSON parts are limited to "
                                 f"{_MAX_JSON_BYTES} bytes")
    data = bytearray(info.file_size)
    digest = hashlib.sha256()
    with zf.open(info) as entry:  # zipfile checks the entry's CRC-32 at its end
        view, done = memoryview(data), 0
        while done < len(data):
            n = entry.readinto(view[done:done + (1 << 20)])
            if not n:
                raise SerializationError(f"{path}: entry {name!r} is shorter than its declared size")
            digest.update(view[done:done + n])
            done += n
        if entry.read(1):
            raise SerializationError(f"{path}: entry {name!r} is longer than its declared size")
    if sha256 is not None and digest.hexdigest() != sha256:
        raise SerializationError(f"{path}: checksum mismatch in {name!r} (file corrupted or tampered with)")
    return data


def _check_manifest(manifest: Any, infos: dict[str, zipfile.ZipInfo], path: str,
                    kinds: tuple[str, ...]) -> dict[str, str]:
    """The manifest's checksums by entry, once it is minigrad's, of a kind and version this reads."""
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
    entries = set(infos) - {_MANIFEST}
    expected = {_DOCUMENT, *(f"arrays/{i}.npy" for i in range(len(entries) - 1))}
    if not isinstance(sums, dict) or set(sums) != entries or entries != expected \
            or not all(isinstance(v, str) for v in sums.values()):
        raise SerializationError(f"{path}: entries do not match the manifest (file edited or damaged)")
    return sums


def _json(data: bytes | bytearray | None, path: str, name: str) -> Any:
    if data is None:
        raise SerializationError(f"{path}: not a minigrad file ({name} is missing)")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise SerializationError(f"{path}: {name} is not valid JSON ({e})") from None


def check_depth(obj: Any, path: str, part: str, limit: int = MAX_DEPTH) -> None:
    """SerializationError when JSON values nest deeper than limit (checked without recursion)."""
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            raise SerializationError(f"{path}: {part} nests deeper than {limit} levels")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def _array(data: bytearray, path: str, name: str) -> np.ndarray:
    """The array of a .npy entry, after its header proves that the entry holds exactly its bytes."""
    fp = io.BytesIO(data)
    try:
        major, _ = np.lib.format.read_magic(fp)
        if major not in (1, 2):
            raise ValueError(f"unsupported .npy format version {major}")
        read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(fp)
    except Exception as e:  # noqa: BLE001 - numpy's header parser raises tokenize/Syntax/Value errors alike
        raise SerializationError(f"{path}: {name} is unreadable ({type(e).__name__}: {e})") from None
    if dtype.str[1:] not in _DTYPES or dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise SerializationError(f"{path}: {name} has dtype {dtype}; only bool/int/float are allowed")
    if len(shape) > _MAX_NDIM or any(not isinstance(d, int) or d < 0 for d in shape):
        raise SerializationError(f"{path}: {name} declares the shape {shape!r}")
    stored = len(data) - fp.tell()
    if math.prod(shape) * dtype.itemsize != stored:
        raise SerializationError(f"{path}: {name} declares shape {shape} of {dtype} "
                                 f"({math.prod(shape) * dtype.itemsize} bytes) but stores {stored} bytes")
    array = np.frombuffer(data, dtype, math.prod(shape), offset=fp.tell()).reshape(shape, order="F" if fortran else "C")
    return array if dtype.isnative else array.astype(dtype.newbyteorder("="))
