"""Every spelling a name resolves by: snake_name, ClassName, aliases, any case, Keras' accepted names."""
import pytest

from minigrad import callbacks, layers, losses, metrics, ops, optimizers
from minigrad.errors import UnknownNameError
from minigrad.registry import Registry, all_registries, snake_case


def test_unknown_name_lists_the_closest_names():
    with pytest.raises(UnknownNameError, match=r"did you mean 'dense'") as info:
        layers.get("Dens")
    assert isinstance(info.value, ValueError) and isinstance(info.value, KeyError)
    with pytest.raises(UnknownNameError, match=r"'multiply'"):
        ops.get("mutliply")


def test_registering_a_name_twice_needs_override():
    registry = Registry("test_things")
    registry.register("thing", object())
    with pytest.raises(ValueError, match="already registered.*override=True"):
        registry.register("thing", object())
    replacement = object()
    registry.register("thing", replacement, override=True)
    assert registry.get("thing") is replacement


@pytest.mark.parametrize("name, snake", [
    ("Conv2D", "conv2d"), ("MaxPooling2D", "max_pooling2d"), ("GaborConv2D", "gabor_conv2d"), ("L1L2", "l1l2"),
    ("GlobalAveragePooling2D", "global_average_pooling2d"), ("ZeroMean", "zero_mean"), ("dense", "dense"),
    ("RMSprop", "rm_sprop"), ("TerminateOnNaN", "terminate_on_na_n"), ("ReLU", "re_lu"), ("MeanIoU", "mean_io_u"),
    ("F1Score", "f1_score"), ("Conv2DTranspose", "conv2d_transpose"), ("My-Layer 2", "my_layer2"),
])
def test_snake_case_is_keras_3s_to_snake_case(name, snake):
    """Keras 3 (keras/src/utils/naming.py): drop non-word characters, split before capitalised words and
    at lower->Upper; this is the rule for layer names and custom names, not a list of accepted spellings."""
    assert snake_case(name) == snake


@pytest.mark.parametrize("kind", sorted(all_registries()))
def test_every_builtin_answers_to_its_name_class_name_and_aliases_in_any_case(kind):
    registry = all_registries()[kind]
    for name, obj in registry.builtins().items():
        spellings = [name, name.upper(), name.title().replace("_", "")]
        spellings += [alias for alias, key in registry._aliases.items() if key == name]
        for spelling in spellings:
            assert registry.get(spelling) is obj, (kind, spelling)
            assert spelling in registry and registry.provider(spelling) is None


@pytest.mark.parametrize("spelling", ["sgd", "SGD", "rmsprop", "RMSprop", "RMSProp", "adam", "Adam", "adamw", "AdamW",
                                      "ADAMW", "adagrad", "Adagrad"])
def test_optimizers_answer_to_their_lowercased_class_name_in_any_case_as_keras(spelling):
    """keras.optimizers.get: ALL_OBJECTS_DICT = {cls.__name__.lower(): cls}, looked up case-insensitively."""
    assert type(optimizers.get(spelling)).__name__.lower() == spelling.lower()


KERAS_SHORT_NAMES = {"bce": "binary_crossentropy", "mse": "mean_squared_error", "mae": "mean_absolute_error",
                     "mape": "mean_absolute_percentage_error", "msle": "mean_squared_logarithmic_error"}


@pytest.mark.parametrize("module", [losses, metrics], ids=["losses", "metrics"])
def test_losses_and_metrics_answer_to_keras_short_names(module):
    """keras.losses / keras.metrics ALL_OBJECTS_DICT: 'bce', 'BCE', 'mse', 'MSE', ... ('kld', 'KLD' for losses)."""
    short = dict(KERAS_SHORT_NAMES, **({"kld": "kl_divergence"} if module is losses else {}))
    for alias, name in short.items():
        for spelling in (alias, alias.upper()):
            assert module.registry.get(spelling) is module.registry.get(name), spelling


def test_metric_classes_also_answer_to_their_snake_case_as_keras():
    """keras.metrics also maps to_snake_case(cls.__name__): 'mean_io_u', 'f_beta_score', 'binary_io_u'."""
    for name, cls in metrics.registry.builtins().items():
        assert metrics.registry.get(snake_case(cls.__name__)) is cls, name


def test_every_keras_callback_is_registered_under_its_keras_name():
    """The Keras callbacks users expect (REFERENCE.md), each found by its class name too."""
    expected = ["ModelCheckpoint", "BackupAndRestore", "TensorBoard", "EarlyStopping", "LearningRateScheduler",
                "ReduceLROnPlateau", "RemoteMonitor", "LambdaCallback", "TerminateOnNaN", "CSVLogger", "ProgbarLogger",
                "SwapEMAWeights", "History"]
    for class_name in expected:
        assert callbacks.registry.get(class_name).__name__ == class_name
    assert {"model_checkpoint", "tensorboard", "terminate_on_nan", "csv_logger", "reduce_lr_on_plateau",
            "swap_ema_weights"} <= set(callbacks.registry.names())


@pytest.mark.parametrize("module, spelling", [(optimizers, "rm_sprop"), (optimizers, "adam_w"),
                                              (callbacks, "terminate_on_na_n"), (callbacks, "tensor_board")])
def test_no_workaround_spellings(module, spelling):
    """snake_case of a class name is not a name Keras accepts for optimizers or callbacks."""
    with pytest.raises(UnknownNameError):
        module.registry.get(spelling)
