"""PolynomialDecay, CosineDecay with warmup and CosineDecayRestarts against independent transcriptions."""
import json
import math

import numpy as np
import pytest

from minigrad.optimizers import schedules

STEPS = [0, 1, 3, 7, 10, 11, 19, 20, 33, 64, 100]


def _sgdr(step, initial, first, t_mul, m_mul, alpha):
    """Walk the periods one by one (no closed form): which restart holds `step`, and how far into it."""
    start, length, restart = 0.0, float(first), 0
    while step >= start + length:
        start, length, restart = start + length, length * t_mul, restart + 1
    fraction = (step - start) / length
    return initial * ((1 - alpha) * 0.5 * m_mul ** restart * (1 + math.cos(math.pi * fraction)) + alpha)


@pytest.mark.parametrize("schedule, formula", [
    (schedules.PolynomialDecay(0.1, 10), lambda s: (0.1 - 1e-4) * (1 - min(s, 10) / 10) + 1e-4),
    (schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.01, power=0.5),
     lambda s: 0.09 * (1 - min(s, 10) / 10) ** 0.5 + 0.01),
    (schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.0, power=2.0, cycle=True),
     lambda s: 0.1 * (1 - s / (10 * max(1, math.ceil(s / 10)))) ** 2),
    (schedules.CosineDecay(0.0, 20, warmup_target=0.1, warmup_steps=10),
     lambda s: 0.1 * s / 10 if s < 10 else 0.1 * 0.5 * (1 + math.cos(math.pi * (min(s, 30) - 10) / 20))),
    (schedules.CosineDecay(0.02, 20, alpha=0.2, warmup_target=0.1, warmup_steps=5),
     lambda s: 0.02 + 0.08 * s / 5 if s < 5 else
     0.1 * (0.8 * 0.5 * (1 + math.cos(math.pi * (min(s, 25) - 5) / 20)) + 0.2)),
    (schedules.CosineDecayRestarts(0.1, 10), lambda s: _sgdr(s, 0.1, 10, 2.0, 1.0, 0.0)),
    (schedules.CosineDecayRestarts(0.1, 4, t_mul=1.5, m_mul=0.5, alpha=0.1), lambda s: _sgdr(s, 0.1, 4, 1.5, 0.5, 0.1)),
    (schedules.CosineDecayRestarts(0.1, 7, t_mul=1.0, m_mul=0.9), lambda s: _sgdr(s, 0.1, 7, 1.0, 0.9, 0.0)),
])
def test_matches_formula_and_round_trips(schedule, formula):
    np.testing.assert_allclose([schedule(s) for s in STEPS], [formula(s) for s in STEPS], rtol=1e-9, atol=1e-15)
    clone = schedules.deserialize(json.loads(json.dumps(schedules.serialize(schedule))))
    assert type(clone) is type(schedule) and clone.get_config() == schedule.get_config()
    assert type(schedule).from_config(schedule.get_config()).get_config() == schedule.get_config()


def test_keras_defaults_and_names():
    assert schedules.PolynomialDecay(0.1, 5).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 5.0, "end_learning_rate": 0.0001, "power": 1.0,
        "cycle": False, "name": "PolynomialDecay"}
    assert schedules.CosineDecayRestarts(0.1, 5).get_config()["name"] == "SGDRDecay"
    assert schedules.CosineDecay(0.1, 5).get_config()["warmup_target"] is None
    assert schedules.CosineDecay(0.1, 5)(5) == pytest.approx(0.0)


@pytest.mark.parametrize("make, match", [
    (lambda: schedules.PolynomialDecay(0.1, 0), "PolynomialDecay: expected decay_steps to be a finite float > 0"),
    (lambda: schedules.CosineDecayRestarts(0.1, -1), "CosineDecayRestarts: expected first_decay_steps to be a finite float > 0"),
    (lambda: schedules.CosineDecay(0.1, 5, warmup_steps=-2), "CosineDecay: expected warmup_steps >= 0"),
    (lambda: schedules.CosineDecay(0.1, 5, warmup_target="x"), "CosineDecay: expected warmup_target"),
])
def test_bad_arguments_name_the_schedule(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()
