"""CSVLogger, RemoteMonitor (against a local HTTP server) and TensorBoard (event files read back)."""
from __future__ import annotations

import csv
import json
import socket
import struct
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from _fit import fit, regression_data

from minigrad.callbacks import CSVLogger, RemoteMonitor, TensorBoard


def _fit(*cbs, epochs: int = 3, validation: bool = True):
    """The real fit; the model with .epochs_run, the epochs that ran."""
    model, script = fit(*cbs, epochs=epochs, validation_data=regression_data(n=16) if validation else None)
    model.epochs_run = script.epochs
    return model


# ----- CSVLogger
def test_csv_rows_match_history(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    model = _fit(CSVLogger(path))
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    for key, values in model.history.history.items():
        assert [float(r[key]) for r in rows] == values  # repr round-trips floats exactly


def test_csv_separator_and_append(tmp_path: Path) -> None:
    path = tmp_path / "log.tsv"
    _fit(CSVLogger(path, separator="\t"), epochs=2)
    _fit(CSVLogger(path, separator="\t", append=True), epochs=2)
    lines = path.read_text().splitlines()
    assert len(lines) == 5 and lines[0] == "epoch\tloss\tmae\tval_loss\tval_mae"  # one header, 4 rows
    assert [line.split("\t")[0] for line in lines[1:]] == ["0", "1", "0", "1"]
    _fit(CSVLogger(path, separator="\t"), epochs=1)  # append=False starts over
    assert len(path.read_text().splitlines()) == 2
    with pytest.raises(ValueError, match="single character"):
        CSVLogger(path, separator="::")


def test_csv_reserves_validation_columns(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    _fit(CSVLogger(path), epochs=1, validation=False)
    with open(path, newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["val_loss"] == "NA" and row["val_mae"] == "NA"


# ----- RemoteMonitor
class _Collector(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, self.headers["Content-Type"], self.headers.get("X-Run"), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:  # keep test output clean
        pass


@pytest.fixture()
def server():
    _Collector.received = []
    httpd = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", _Collector.received
    httpd.shutdown()
    httpd.server_close()


def test_remote_monitor_posts_json_each_epoch(server) -> None:
    root, received = server
    model = _fit(RemoteMonitor(root=root, path="/runs/", send_as_json=True, headers={"X-Run": "a"}))
    assert len(received) == 3
    for epoch, (path, ctype, run, body) in enumerate(received):
        payload = json.loads(body)
        assert (path, ctype, run) == ("/runs/", "application/json", "a")
        assert payload["epoch"] == epoch and payload["loss"] == model.history.history["loss"][epoch]


def test_remote_monitor_form_field_like_keras(server) -> None:
    root, received = server
    _fit(RemoteMonitor(root=root, field="metrics"), epochs=1)
    ((path, ctype, _, body),) = received
    assert path == "/publish/epoch/end/" and ctype == "application/x-www-form-urlencoded"
    payload = json.loads(urllib.parse.parse_qs(body.decode())["metrics"][0])
    assert set(payload) == {"epoch", "loss", "mae", "val_loss", "val_mae"}


def test_remote_monitor_dead_endpoint_warns_and_training_continues() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.warns(RuntimeWarning, match="could not reach.*training continues"):
        model = _fit(RemoteMonitor(root=f"http://127.0.0.1:{port}", timeout=2.0))
    assert model.epochs_run == [0, 1, 2]
    with pytest.raises(ValueError, match="http"):
        RemoteMonitor(root="file:///etc/passwd")


# ----- TensorBoard
def _crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def _masked(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _read_events(folder: Path) -> list:
    """Parse the TFRecord framing (length, masked CRC-32C of length, data, masked CRC of data) by hand."""
    from tensorboardX.proto.event_pb2 import Event

    (path,) = folder.glob("events.out.tfevents.*")
    raw, events, pos = path.read_bytes(), [], 0
    while pos < len(raw):
        header = raw[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", raw[pos + 8:pos + 12])[0] == _masked(_crc32c(header))
        data = raw[pos + 12:pos + 12 + length]
        assert struct.unpack("<I", raw[pos + 12 + length:pos + 16 + length])[0] == _masked(_crc32c(data))
        events.append(Event.FromString(data))
        pos += 16 + length
    return events


def _scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list] = {}
    for event in _read_events(folder):
        for value in event.summary.value:
            if value.HasField("simple_value"):
                out.setdefault(value.tag, []).append((event.step, value.simple_value))
    return out


def test_tensorboard_writes_epoch_scalars_per_run(tmp_path: Path) -> None:
    pytest.importorskip("tensorboardX")
    model = _fit(TensorBoard(tmp_path / "logs"))
    history = model.history.history
    train, val = _scalars(tmp_path / "logs" / "train"), _scalars(tmp_path / "logs" / "validation")
    assert set(train) == {"epoch_loss", "epoch_mae", "epoch_learning_rate"}
    assert set(val) == {"epoch_loss", "epoch_mae"}
    assert [v for _, v in train["epoch_learning_rate"]] == pytest.approx([0.05] * 3)
    assert [s for s, _ in train["epoch_loss"]] == [0, 1, 2]
    assert [v for _, v in train["epoch_loss"]] == pytest.approx(history["loss"], rel=1e-6)  # stored as float32
    assert [v for _, v in val["epoch_mae"]] == pytest.approx(history["val_mae"], rel=1e-6)


def test_tensorboard_batch_scalars_and_histograms(tmp_path: Path) -> None:
    pytest.importorskip("tensorboardX")
    _fit(TensorBoard(tmp_path, update_freq=1, histogram_freq=2), epochs=3)  # 16 rows / 8 = 2 steps per epoch
    train = _scalars(tmp_path / "train")
    assert [s for s, _ in train["batch_loss"]] == [1, 2, 3, 4, 5, 6]
    histograms = [(e.step, v.tag) for e in _read_events(tmp_path / "train") for v in e.summary.value
                  if v.HasField("histo")]
    assert sorted(histograms) == [(0, "dense/bias/histogram"), (0, "dense/kernel/histogram"),
                                  (2, "dense/bias/histogram"), (2, "dense/kernel/histogram")]


def test_tensorboard_argument_checks() -> None:
    pytest.importorskip("tensorboardX")
    with pytest.raises(ValueError, match="update_freq"):
        TensorBoard(update_freq=0)
    with pytest.raises(ValueError, match="histogram_freq"):
        TensorBoard(histogram_freq=-1)


def test_tensorboard_without_tensorboardx_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # makes `import tensorboardX` fail
    with pytest.raises(ImportError, match=r"pip install 'minigrad-cython\[tensorboard\]'"):
        TensorBoard()
