"""The file loaders (load_model, load_weights, read_archive, BackupAndRestore) on damaged and forged
files: random byte edits of a real file, and documents with a hostile value at a random place,
re-checksummed so that they reach the parser (what a careful attacker writes)."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
from _harness import FUZZ, HOSTILE_SCALARS, judge, worker  # noqa: F401 - worker is a fixture
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import layers, models

LOADERS = ["load_model", "load_weights", "read_archive", "backup"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> bytes:
    minigrad.set_seed(0)
    model = models.Sequential([layers.Conv2D(2, 3, activation="relu", input_shape=(6, 6, 1)),
                               layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(np.ones((4, 6, 6, 1), np.float32), np.eye(3, dtype=np.float32)[[0, 1, 2, 0]], epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("fuzz") / "m.mg"
    model.save(path)
    return path.read_bytes()


def _entries(raw: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _archive(entries: dict[str, bytes], kind: str = "model") -> bytes:
    entries = {k: v for k, v in entries.items() if k != "manifest.json"}
    manifest = {"format": "minigrad", "format_version": 1, "kind": kind,
                "sha256": {k: hashlib.sha256(v).hexdigest() for k, v in entries.items()}}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for k, v in entries.items():
            zf.writestr(k, v)
    return buf.getvalue()


JSON_HOSTILE = st.one_of(
    HOSTILE_SCALARS.filter(lambda v: isinstance(v, (int, float, str, bool, type(None), list, dict))),
    st.just({"__ndarray__": 99}), st.just({"__ndarray__": -1}), st.just({"class_name": "os.system", "config": {}}),
    st.just([[[[[[[]]]]]]]), st.integers(-(10**20), 10**20), st.text(max_size=8),
    st.recursive(st.none() | st.integers() | st.text(max_size=4), lambda c: st.lists(c, max_size=3)
                 | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=8),
)


@st.composite
def _edited_document(draw: st.DrawFn, raw: bytes) -> bytes:
    """The real document with one value (found by a random walk from the root) replaced."""
    entries = _entries(raw)
    document = json.loads(entries["document.json"])
    node, depth = document, draw(st.integers(1, 8))
    for _ in range(depth):
        keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        child = node[key]
        if not isinstance(child, (dict, list)) or not child or draw(st.integers(0, 3)) == 0:
            node[key] = draw(JSON_HOSTILE)
            break
        node = child
    entries["document.json"] = json.dumps(document).encode()
    return _archive(entries, draw(st.sampled_from(["model", "model", "weights", "backup"])))


@st.composite
def _edited_bytes(draw: st.DrawFn, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(["flip", "cut", "insert", "zero-run"]))
        if how == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif how == "cut":
            del data[at:]
            break
        elif how == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            data[at:at + 8] = b"\xff" * 8
    return bytes(data)


@st.composite
def _forged_array(draw: st.DrawFn, raw: bytes) -> bytes:
    entries = _entries(raw)
    header = {"descr": draw(st.sampled_from(["<f4", "<f8", "|O", "<c16", "V8", "<i8", "|b1", "<U3"])),
              "fortran_order": draw(st.booleans()),
              "shape": draw(st.lists(st.integers(-2, 10**13), max_size=4).map(tuple))}
    buf = io.BytesIO()
    try:
        np.lib.format.write_array_header_1_0(buf, header)
    except ValueError:
        buf = io.BytesIO(b"\x93NUMPY\x01\x00\x10\x00{'descr': 1}   \n")
    entries["arrays/0.npy"] = buf.getvalue() + draw(st.binary(max_size=64))
    return _archive(entries)


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("how", ["bytes", "document", "array"])
@FUZZ
@given(data=st.data())
def test_loader_survives_hostile_files(worker, saved: bytes, loader: str, how: str,  # noqa: F811
                                       data: st.DataObject) -> None:
    edit = {"bytes": _edited_bytes, "document": _edited_document, "array": _forged_array}[how]
    case = {"target": "file", "name": loader, "data": data.draw(edit(saved)), "kind": "model",
            "also": ("hostile.mg", "backup.mgckpt")}
    judge(worker, case)
