"""`minigrad demo`: the digits run end to end (subprocess with no arguments, and in-process through
main(argv)), its plots, the reference CNN's receptive fields, and bad arguments (exit status 2)."""
from __future__ import annotations

import importlib.util
import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

import minigrad
from minigrad.cli import demo, main
from minigrad.datasets import mnist

ROOT = Path(minigrad.__file__).resolve().parent.parent
ACCURACY = re.compile(r"^Test accuracy: (\d\.\d{4}) on ([\d,]+) test images$", re.MULTILINE)
TIMES = re.compile(r"^Time: ([\d.]+) s = loading ([\d.]+) s \+ training ([\d.]+) s \(([\d.]+) s per "
                   r"epoch, ([\d,]+) images/s, validation on 359 images included\) \+ evaluation "
                   r"([\d.]+) s \(([\d,]+) images/s\)$", re.MULTILINE)


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG, after checking its signature, IHDR and IEND chunks and their CRCs."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} does not start with the PNG signature"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    assert struct.unpack(">I", data[29:33])[0] == zlib.crc32(data[12:29])
    assert data[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82", f"{path} does not end with IEND"
    return struct.unpack(">II", data[16:24])


def check_run(out: str, output_dir: Path) -> float:
    """Assert what every successful digits run prints and writes; returns the test accuracy."""
    assert 'Model: "digits_cnn"' in out and "Total params: 151,306" in out
    assert re.search(r"^Epoch 10/10 .*loss: \d\.\d{4} - accuracy: \d\.\d{4}", out, re.MULTILINE), out
    found = ACCURACY.search(out)
    assert found is not None, out
    assert found.group(2) == "359"
    times = TIMES.search(out)
    assert times is not None, out
    total, load, train, per_epoch, rate, evaluate, eval_rate = map(float, (
        g.replace(",", "") for g in times.groups()))
    assert total == pytest.approx(load + train + evaluate, abs=0.2)
    assert per_epoch == pytest.approx(train / 10, abs=0.01)
    assert rate == pytest.approx(5 * 1438 / per_epoch, rel=0.01) and eval_rate > 0
    if importlib.util.find_spec("matplotlib") is not None:
        for name in ("history.png", "feature_maps.png", "receptive_field.png"):
            width, height = png_size(output_dir / name)
            assert width >= 200 and height >= 200
        assert (f"Plots written to {output_dir.resolve()}: history.png, feature_maps.png, "
                "receptive_field.png") in out
    return float(found.group(1))


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-W", "error", "-m", "minigrad", "demo", *args], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow  # end to end, in a subprocess
def test_demo_without_arguments_learns_the_digits_and_writes_its_plots(tmp_path: Path) -> None:
    proc = run_cli(cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert check_run(proc.stdout, tmp_path / "minigrad-demo-output") >= 0.97
    assert "seed 0" in proc.stdout


@pytest.fixture
def keep_threads() -> Iterator[None]:
    before = minigrad.get_num_threads()
    yield
    minigrad.set_num_threads(before)


@pytest.mark.slow  # a full training run
def test_demo_in_process_with_another_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           keep_threads: None) -> None:
    output = tmp_path / "plots"
    assert main(["demo", "--seed", "1", "--threads", "1", "--output", str(output)]) == 0
    out = capsys.readouterr().out
    assert check_run(out, output) >= 0.97
    assert "seed 1, 1 thread(s)" in out and minigrad.get_num_threads() == 1


def test_without_matplotlib_the_demo_says_how_to_get_the_plots(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real_find_spec(name, *a))
    data = demo.load_digits(0, train_size=8)
    assert demo._write_plots(demo.digits_cnn(), {"loss": [1.0]}, data, tmp_path / "out") == []
    assert 'pip install "minigrad-cython[viz]"' in capsys.readouterr().out
    assert not (tmp_path / "out").exists()


def test_shifted_copies_move_every_image_by_one_pixel() -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4) + 1
    out = demo.shifted_copies(images)
    assert out.shape == (10, 3, 4)
    np.testing.assert_array_equal(out[:2], images)
    np.testing.assert_array_equal(out[2:4, 1:], images[:, :-1])  # down
    np.testing.assert_array_equal(out[4:6, :-1], images[:, 1:])  # up
    np.testing.assert_array_equal(out[6:8, :, 1:], images[:, :, :-1])  # right
    np.testing.assert_array_equal(out[8:10, :, :-1], images[:, :, 1:])  # left
    assert not out[2:4, 0].any() and not out[4:6, -1].any()
    assert not out[6:8, :, 0].any() and not out[8:10, :, -1].any()


def test_digits_data_is_scaled_one_hot_and_augmented() -> None:
    data = demo.load_digits(3, train_size=100)
    assert data.x_train.shape == (500, 8, 8, 1) and data.x_train.dtype == np.float32
    assert data.x_test.shape == (359, 8, 8, 1) and 0.0 <= data.x_test.min() and data.x_test.max() == 1.0
    assert data.y_train.shape == (500, 10) and np.array_equal(data.y_train.sum(axis=1), np.ones(500))
    np.testing.assert_array_equal(data.y_train[:100], data.y_train[400:])


def test_reference_cnn_receptive_fields_match_the_reference_table() -> None:
    model = demo.reference_cnn()
    assert model.count_params() == 93_322
    lines = demo.receptive_field_table(model).splitlines()
    assert lines[0].split("  ")[0] == "layer" and set(lines[1]) == {"-", " "}
    # (output, receptive field, share of the 784 input pixels, region one last-conv neuron sees)
    expected = [("28x28", "1x1", "0.13%", "18x18"), ("26x26", "3x3", "1.15%", "16x16"),
                ("13x13", "4x4", "2.04%", "8x8"), ("11x11", "8x8", "8.16%", "6x6"),
                ("5x5", "10x10", "12.76%", "3x3"), ("3x3", "18x18", "41.33%", "1x1")]
    assert [tuple(line.split()[1:]) for line in lines[2:]] == expected
    assert [line.split()[0] for line in lines[2:]] == ["input"] + [layer.name for layer in model.layers[:5]]


# ----- bad arguments: a clear message and exit status 2
@pytest.mark.parametrize("argv, message", [
    (["--dataset", "cifar10"], "invalid choice: 'cifar10'"),
    (["--epochs", "0"], "--epochs: expected a positive integer, received '0'"),
    (["--batch-size", "many"], "--batch-size: expected a positive integer, received 'many'"),
    (["--seed", "-1"], "--seed: expected an integer >= 0, received '-1'"),
    (["--threads", "1.5"], "--threads: expected a positive integer, received '1.5'"),
])
def test_argparse_rejects_bad_values(argv: list[str], message: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["demo", *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def _bad(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["demo", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("minigrad demo: error: ")
    return captured.err


def test_missing_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _bad(["--dataset", "mnist", "--data-dir", str(tmp_path / "nowhere")], capsys)
    assert f"--data-dir {tmp_path / 'nowhere'} does not exist" in err
    assert "train-images-idx3-ubyte.gz" in err


def test_data_dir_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    assert "is not a folder" in _bad(["--dataset", "mnist", "--data-dir", str(tmp_path / "file")], capsys)


def test_data_dir_without_the_files_and_no_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(mnist, "MIRRORS", ())  # the download fails at once, as offline
    err = _bad(["--dataset", "mnist", "--data-dir", str(tmp_path)], capsys)
    assert f"Put these files in {tmp_path}" in err and "t10k-labels-idx1-ubyte.gz" in err


def test_data_dir_with_damaged_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in mnist.FILES:
        (tmp_path / name).write_bytes(b"not mnist")
    err = _bad(["--dataset", "mnist", "--data-dir", str(tmp_path)], capsys)
    assert "cannot read MNIST" in err and "has 9 bytes, expected" in err


def test_data_dir_needs_mnist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "--data-dir is only used with --dataset mnist" in _bad(["--data-dir", str(tmp_path)], capsys)


def test_output_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    assert "exists and is not a folder" in _bad(["--output", str(tmp_path / "file")], capsys)


def test_bad_arguments_in_a_subprocess(tmp_path: Path) -> None:
    proc = run_cli("--dataset", "mnist", "--data-dir", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "minigrad demo: error: --data-dir" in proc.stderr and "does not exist" in proc.stderr
    proc = run_cli("--dataset", "imagenet", cwd=tmp_path)
    assert proc.returncode == 2 and "invalid choice: 'imagenet'" in proc.stderr
