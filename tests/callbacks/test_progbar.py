"""ProgbarLogger: a tqdm bar with ETA and metrics on terminals, else (and at verbose=2) one line per epoch."""
from __future__ import annotations

import io
import re

import pytest
from _fit import fit, regression_data, tiny_model

import minigrad
from minigrad.callbacks import ProgbarLogger
from minigrad.callbacks.progbar import format_logs


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _fit(verbose: int, out: io.StringIO, epochs: int = 2) -> None:
    x, y = regression_data(n=24)
    fit(ProgbarLogger(file=out, mininterval=0.0), n=24, epochs=epochs, verbose=verbose,
        validation_data=(x[:8], y[:8]))


def test_bar_on_a_terminal_shows_steps_eta_and_metrics() -> None:
    out = FakeTerminal()
    _fit(1, out)
    text = out.getvalue()
    for epoch in (1, 2):
        assert f"Epoch {epoch}/2" in text
    assert "3/3" in text  # steps done / total
    assert re.search(r"\d\d:\d\d<\d\d:\d\d", text)  # elapsed<ETA
    assert re.search(r"loss: \d+\.\d{4} - mae: \d+\.\d{4} - val_loss: \d+\.\d{4}", text)


LINE = r"Epoch {i}/{n} - 3/3 - \d+\.\ds - \d+(s|ms|us)/step - loss: \S+ - mae: \S+ - val_loss: \S+ - val_mae: \S+"


def test_verbose_1_prints_one_line_per_epoch_when_not_a_terminal() -> None:
    out = io.StringIO()  # a redirected or nohup run: no bar, but not silent either (Keras prints there)
    _fit(1, out, epochs=2)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    for i, line in enumerate(lines, start=1):
        assert re.fullmatch(LINE.format(i=i, n=2), line)


def test_verbose_0_prints_nothing_even_on_a_terminal(capsys: pytest.CaptureFixture) -> None:
    out = FakeTerminal()
    _fit(0, out)
    assert out.getvalue() == "" and capsys.readouterr().out == ""


def test_verbose_2_prints_one_line_per_epoch_anywhere() -> None:
    out = io.StringIO()
    _fit(2, out, epochs=3)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines, start=1):
        assert re.fullmatch(LINE.format(i=i, n=3), line)


def test_evaluate_and_predict_bars() -> None:
    minigrad.set_seed(0)
    x, y = regression_data(n=24)
    model = tiny_model()
    out = FakeTerminal()
    model.evaluate(x, y, batch_size=8, verbose=1, callbacks=[ProgbarLogger(file=out, mininterval=0.0)])
    assert "Evaluate" in out.getvalue() and "3/3" in out.getvalue()
    out = FakeTerminal()
    model.predict(x, batch_size=8, verbose=1, callbacks=[ProgbarLogger(file=out, mininterval=0.0)])
    assert "Predict" in out.getvalue() and "3/3" in out.getvalue()
    out = io.StringIO()
    model.evaluate(x, y, batch_size=8, verbose=2, callbacks=[ProgbarLogger(file=out)])
    assert re.fullmatch(r"Evaluate - 3/3 - \d+\.\ds - \d+(s|ms|us)/step - loss: \S+ - mae: \S+\n", out.getvalue())


def test_default_output_is_stdout_looked_up_late(capsys: pytest.CaptureFixture) -> None:
    fit(n=8, verbose=2)  # fit adds its own ProgbarLogger
    assert capsys.readouterr().out.startswith("Epoch 1/1 - ")


def test_format_logs_matches_keras() -> None:
    assert format_logs({"loss": 0.123456, "lr": 1e-5, "zero": 0.0, "skip": "text"}) == (
        "loss: 0.1235 - lr: 1.0000e-05 - zero: 0.0000"
    )
    assert format_logs(None) == ""
