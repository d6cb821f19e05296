"""minigrad.viz: valid PNGs of the expected pixel size, with panels that show the right numbers."""
from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import layers, models, viz

pytest.importorskip("matplotlib")


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking the signature and the chunk CRC."""
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    length, kind = struct.unpack(">I4s", raw[8:16])
    assert kind == b"IHDR" and length == 13
    data = raw[16:29]
    assert struct.unpack(">I", raw[29:33])[0] == zlib.crc32(kind + data)
    assert raw.endswith(b"IEND\xaeB`\x82")
    return struct.unpack(">II", data[:8])


def _cnn() -> models.Sequential:
    minigrad.set_seed(0)
    return models.Sequential([layers.Conv2D(6, 3, activation="relu", input_shape=(10, 10, 1), name="c1"),
                              layers.MaxPooling2D(2, name="pool"), layers.Conv2D(3, 3, name="c2"),
                              layers.Flatten(), layers.Dense(2)])


def _visible_panels(fig) -> list:
    return [ax for ax in fig.axes if ax.images]


def test_history_plot_has_train_and_validation_curves(tmp_path: Path) -> None:
    history = {"loss": [1.0, 0.5, 0.25], "accuracy": [0.5, 0.7, 0.9], "val_loss": [1.2, 0.8, 0.6],
               "val_accuracy": [0.4, 0.6, 0.8]}
    fig = viz.plot_history(history, tmp_path / "h.png", figsize=(8, 3), dpi=50)
    assert png_size(tmp_path / "h.png") == (400, 150)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "accuracy"]
    loss_ax = fig.axes[0]
    (train, val) = loss_ax.get_lines()
    assert list(train.get_xdata()) == [1, 2, 3] and list(train.get_ydata()) == history["loss"]
    assert list(val.get_ydata()) == history["val_loss"]


def test_history_object_from_fit(tmp_path: Path) -> None:
    minigrad.set_seed(0)
    x = np.random.default_rng(0).random((16, 10, 10, 1), dtype=np.float32)
    y = np.eye(2, dtype=np.float32)[np.arange(16) % 2]
    model = _cnn()
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, verbose=0, validation_split=0.25)
    fig = viz.plot_history(history, tmp_path / "fit.png")
    width, height = png_size(tmp_path / "fit.png")
    assert (width, height) == (900, 350)  # default: 4.5 x 3.5 inches per panel at 100 dpi
    assert [len(ax.get_lines()) for ax in fig.axes] == [2, 2]


def test_filters_one_panel_per_filter_with_kernel_values(tmp_path: Path) -> None:
    model = _cnn()
    conv = model.layers[0]
    fig = viz.plot_filters(conv, tmp_path / "f.png", dpi=40)
    panels = _visible_panels(fig)
    assert len(panels) == 6
    assert png_size(tmp_path / "f.png") == (round(1.6 * 3 * 40), round(1.6 * 2 * 40))  # 2 x 3 grid
    kernel = conv.get_weights()[0]
    np.testing.assert_allclose(np.asarray(panels[4].images[0].get_array()), kernel[:, :, 0, 4])
    second = viz.plot_filters(model.layers[2], tmp_path / "f2.png", input_channel=5, dpi=40)
    np.testing.assert_allclose(np.asarray(_visible_panels(second)[1].images[0].get_array()),
                               model.layers[2].get_weights()[0][:, :, 5, 1])
    mean = viz.plot_filters(model.layers[2], tmp_path / "f3.png", dpi=40)
    np.testing.assert_allclose(np.asarray(_visible_panels(mean)[2].images[0].get_array()),
                               model.layers[2].get_weights()[0][..., 2].astype(np.float64).mean(axis=2))


def test_rgb_filters(tmp_path: Path) -> None:
    conv = layers.Conv2D(4, 5, input_shape=(12, 12, 3))
    models.Sequential([conv])
    fig = viz.plot_filters(conv, tmp_path / "rgb.png", figsize=(4, 4), dpi=30)
    assert png_size(tmp_path / "rgb.png") == (120, 120)
    assert np.asarray(_visible_panels(fig)[0].images[0].get_array()).shape == (5, 5, 3)


def test_feature_maps_show_the_input_beside_each_conv_layer(tmp_path: Path) -> None:
    model = _cnn()
    sample = np.random.default_rng(3).random((10, 10, 1), dtype=np.float32)
    fig = viz.plot_feature_maps(model, sample, None, tmp_path / "m.png", dpi=50, title="a sample")
    panels = _visible_panels(fig)
    assert [ax.get_title(loc="left") or ax.get_title() for ax in panels] == [
        "a sample", "c1: 6 maps of 8×8", "c2: 3 maps of 2×2"]
    np.testing.assert_array_equal(panels[0].images[0].get_array(), sample[..., 0])
    expected = model.layers[0](sample[None]).data[0]  # (8, 8, 6): one mosaic row, 1-pixel gaps
    mosaic = np.ma.filled(panels[1].images[0].get_array(), np.nan)
    assert mosaic.shape == (8, 6 * 9 - 1) and np.isnan(mosaic[:, 8::9]).all()
    for c in range(6):
        np.testing.assert_allclose(mosaic[:, 9 * c:9 * c + 8], expected[..., c], rtol=1e-6)
    assert panels[2].images[0].get_array().shape == (12, 3 * 13 - 1)  # 2x2 maps shown 12x12
    colour_bars = [ax for ax in fig.axes if ax not in panels]
    assert len(colour_bars) == 2  # one colour scale per layer
    width, height = png_size(tmp_path / "m.png")
    assert (width, height) == tuple(round(50 * v) for v in fig.get_size_inches())
    assert 200 <= width <= 300 and height <= 200  # sized to 6 maps, not to a fixed canvas
    assert type(model.layers[0]).call is not None and "call" not in vars(model.layers[0])  # hook removed


def test_feature_maps_of_one_chosen_layer(tmp_path: Path) -> None:
    model = _cnn()
    fig = viz.plot_feature_maps(model, np.ones((1, 10, 10, 1), np.float32), 1, tmp_path / "p.png")
    panels = _visible_panels(fig)
    assert len(panels) == 2 and panels[1].get_title(loc="left") == "pool: 6 maps of 4×4"


def test_receptive_field_of_the_reference_cnn(tmp_path: Path) -> None:
    from minigrad.cli.demo import reference_cnn

    model = reference_cnn()
    last_conv = model.layers[4].name
    assert viz._field(model, True) == (last_conv, (1, 1), [(4, 21), (4, 21)])  # 18x18 (REFERENCE.md)
    assert viz._field(model, False) == (last_conv, (10, 10), [(10, 16), (10, 16)])  # 7x7
    fig = viz.plot_receptive_field(model, np.zeros((28, 28, 1)), tmp_path / "rf.png")
    titles = [ax.get_title(loc="left") for ax in _visible_panels(fig)]
    assert "sees 18×18 = 324 pixels\n(41.3% of the 28×28 input)" in titles[0]
    assert "sees 7×7 = 49 pixels\n(6.2% of the 28×28 input)" in titles[1]
    assert png_size(tmp_path / "rf.png") == (720, 440)


def test_receptive_field_past_the_border_of_a_same_padded_model(tmp_path: Path) -> None:
    model = models.Sequential([layers.Conv2D(2, 3, padding="same", input_shape=(8, 8, 1)),
                               layers.MaxPooling2D(2), layers.Conv2D(2, 3, padding="same"),
                               layers.Flatten(), layers.Dense(2)])
    assert viz._field(model, True) == (model.layers[2].name, (1, 1), [(-1, 6), (-1, 6)])
    fig = viz.plot_receptive_field(model, np.zeros((8, 8, 1)), tmp_path / "rf.png")
    assert "8×8 = 64 pixels\n(76.6% of the 8×8 input, 49 inside the image)" in \
        _visible_panels(fig)[0].get_title(loc="left")
    with pytest.raises(ValueError, match="has no 2-D channels_last conv layer"):
        viz.plot_receptive_field(models.Sequential([layers.Dense(2, input_shape=(3,))]),
                                 np.zeros(3), tmp_path / "x.png")


def test_feature_map_errors(tmp_path: Path) -> None:
    model = _cnn()
    sample = np.zeros((10, 10, 1), np.float32)
    with pytest.raises(ValueError, match="no layer named 'c9'; layers: c1, pool, c2"):
        viz.plot_feature_maps(model, sample, "c9", tmp_path / "x.png")
    with pytest.raises(ValueError, match="feature maps need a 1D or 2D spatial output"):
        viz.plot_feature_maps(model, sample, -1, tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"expected one sample of shape \(10, 10, 1\)"):
        viz.plot_feature_maps(model, np.zeros((9, 9, 1)), 0, tmp_path / "x.png")
    with pytest.raises(ValueError, match="expected a built convolution layer"):
        viz.plot_filters(model.layers[-1], tmp_path / "x.png")
    with pytest.raises(ValueError, match="dpi"):
        viz.plot_history({"loss": [1.0]}, tmp_path / "x.png", dpi=0)
    with pytest.raises(ValueError, match="non-empty dict"):
        viz.plot_history({}, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_missing_matplotlib_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'minigrad-cython\[viz\]'"):
        viz.plot_history({"loss": [1.0]}, tmp_path / "h.png")
