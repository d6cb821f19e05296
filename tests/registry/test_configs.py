"""serialize -> deserialize for every built-in of every kind, and the shared Keras-style get every kind uses."""
import inspect

import numpy as np
import pytest

import minigrad
from minigrad import activations, callbacks, initializers, layers, losses, metrics, optimizers
from minigrad.optimizers import schedules
from minigrad.registry import all_registries

# constructor arguments of the built-ins that have required ones (layers declare theirs as example_config)
DECAY = {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}
REQUIRED = {  # by registered name (unique across these kinds)
    "backup_and_restore": {"backup_dir": "b"}, "csv_logger": {"filename": "c.csv"}, "model_checkpoint": {"filepath": "m"},
    "learning_rate_scheduler": {"schedule": lambda epoch, lr: lr}, "precision_at_recall": {"recall": 0.5},
    "recall_at_precision": {"precision": 0.5}, "sensitivity_at_specificity": {"specificity": 0.5},
    "specificity_at_sensitivity": {"sensitivity": 0.5}, "iou": {"num_classes": 2, "target_class_ids": [1]},
    "mean_iou": {"num_classes": 2}, "one_hot_iou": {"num_classes": 2, "target_class_ids": [1]},
    "one_hot_mean_iou": {"num_classes": 2}, "exponential_decay": DECAY, "inverse_time_decay": DECAY,
    "piecewise_constant_decay": {"boundaries": [10], "values": [0.1, 0.01]},
    "polynomial_decay": {"initial_learning_rate": 0.1, "decay_steps": 10},
    "cosine_decay": {"initial_learning_rate": 0.1, "decay_steps": 10},
    "cosine_decay_restarts": {"initial_learning_rate": 0.1, "first_decay_steps": 10},
}
HOLDS_CODE = {"lambda_callback", "learning_rate_scheduler"}  # Python functions: no code in saved files
SAVED_KINDS = sorted(set(all_registries()) - {"ops"})  # ops are not saved: a model saves its layers


def _builtins(kind: str):
    for name, obj in sorted(all_registries()[kind].builtins().items()):
        if inspect.isclass(obj):
            yield name, obj(**dict(REQUIRED.get(name, getattr(obj, "example_config", {}))))
        else:
            yield name, obj


@pytest.mark.parametrize("kind", SAVED_KINDS)
def test_every_builtin_survives_a_config_round_trip(kind):
    module = getattr(minigrad, kind, schedules)  # schedules live in minigrad.optimizers
    for name, obj in _builtins(kind):
        if name in HOLDS_CODE:
            with pytest.raises(TypeError, match="never serialized"):
                module.serialize(obj)
            continue
        entry = module.serialize(obj)
        assert (entry if isinstance(entry, str) else entry["name"]) == name, (kind, name, entry)
        again = module.deserialize(entry)
        if inspect.isroutine(obj):
            assert again is obj
        else:
            assert type(again) is type(obj) and again.get_config() == obj.get_config(), (kind, name)


def _l1(y_true, y_pred):
    return abs(y_pred - y_true)


def test_a_wrapped_loss_function_keeps_its_wrapper_settings():
    losses.register("test_l1", _l1)
    try:
        entry = losses.serialize(losses.LossFunctionWrapper(_l1, name="l1", reduction="sum"))
        assert entry["name"] == "test_l1" and entry["wrapper"] == {"name": "l1", "reduction": "sum"}
        again = losses.get(entry)
        assert again.fn is _l1 and (again.name, again.reduction) == ("l1", "sum")
        assert losses.get("test_l1").fn is _l1
    finally:
        losses.registry._builtins.pop("test_l1")


def test_get_takes_none_an_instance_a_class_a_name_or_a_dict():
    adam = optimizers.Adam(learning_rate=0.5)
    assert optimizers.get(None) is None and optimizers.get(adam) is adam
    assert type(optimizers.get(optimizers.Adam)) is optimizers.Adam
    assert optimizers.get(optimizers.serialize(adam)).learning_rate == 0.5
    assert layers.get("Dense") is layers.Dense  # a layer name gives the class, as keras.layers.get
    assert activations.get(None) is activations.linear and activations.get("Swish") is activations.silu
    assert activations.serialize(activations.swish) == "silu"  # an alias saves as the registered name
    init = lambda shape, dtype="float32": np.full(shape, 2.0, dtype)  # noqa: E731
    assert initializers.get(init) is init and activations.get(init) is init  # kinds of functions take callables
    assert isinstance(initializers.get(initializers.Zeros), initializers.Zeros)
    assert metrics.get("mse").name == "mse" and losses.get("mse").name == "mean_squared_error"
    assert isinstance(metrics.get(lambda y_true, y_pred: np.abs(y_true - y_pred)), metrics.MeanMetricWrapper)


@pytest.mark.parametrize("module, what", [
    (optimizers, "an instance or subclass of Optimizer"), (callbacks, "an instance or subclass of Callback"),
    (losses, "an instance or subclass of Loss or a function"), (activations, "a config dict or a function")])
def test_get_of_something_else_names_the_kind_and_what_it_received(module, what):
    with pytest.raises(TypeError, match=rf"{module.registry.kind}\.get: expected None, a name, .*{what}, received float"):
        module.get(3.5)
    with pytest.raises(TypeError, match="received function"):
        optimizers.get(lambda: None)
