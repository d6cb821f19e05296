"""check_layer over every registered layer, built-in and installed plugin alike: a new layer is checked
without a new test (every op: tests/ops/test_op_gradients.py). Plus proof that both checks can fail."""
import numpy as np
import pytest

from minigrad import layers
from minigrad.errors import GradcheckError
from minigrad.layers import Layer
from minigrad.ops import Op
from minigrad.testing import check_layer, check_op
from minigrad.testing.checks import run_layer_check, run_op_check
from minigrad.testing.strategies import arrays, op_inputs

LAYER_EXAMPLES = 2


@pytest.mark.parametrize("name", layers.registry.names())
def test_every_registered_layer_passes_check_layer(name):
    report = run_layer_check(layers.get(name), examples=LAYER_EXAMPLES)
    if report.skipped is not None:  # a layer that declares example_input_shape = None
        assert "example_input_shape = None" in report.skipped
        return
    assert report.failure is None, report.failure
    assert report.examples >= 1


class WrongBackward(Op):
    """y = x ** 3 with the gradient of x ** 2."""

    name = "test_wrong_backward"

    def forward(self, ctx, x):
        ctx.save(x)
        return x ** 3

    def backward(self, ctx, dy):
        (x,) = ctx.saved
        return (dy * 2 * x,)

    def strategy(self):
        return op_inputs(arrays((2,), low=0.5, high=2.0))  # a fixed shape keeps shrinking quick


class WrongReference(WrongBackward):
    """Right gradient, but the reference disagrees with forward."""

    name = "test_wrong_reference"

    def backward(self, ctx, dy):
        (x,) = ctx.saved
        return (dy * 3 * x * x,)

    def reference(self, x):
        return x ** 3 + 1e-3


def test_check_op_fails_on_a_wrong_backward_or_reference():
    with pytest.raises(GradcheckError, match=r"check_op 'test_wrong_backward'[\s\S]*falsifying example:\ninput 0"):
        check_op(WrongBackward(), examples=5)
    with pytest.raises(GradcheckError, match="forward differs from test_wrong_reference.reference"):
        check_op(WrongReference(), examples=5)


class Scale(Layer):
    """y = x * w with one weight per feature; subclasses break one contract each."""

    example_input_shape = (2, 3)

    def __init__(self, freeze: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.freeze = freeze

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), "ones", trainable=not self.freeze)

    def call(self, inputs, training=False):
        return inputs * self.w

    def get_config(self):
        return {**super().get_config(), "freeze": self.freeze}


class ForgetsConfig(Scale):
    def get_config(self):
        return Layer.get_config(self)  # drops 'freeze'


class WrongShape(Scale):
    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] + 1)


class LeakyFreeze(Scale):
    def build(self, input_shape):
        super().build(input_shape)
        self.w.requires_grad = True  # a frozen weight that still gets gradients


class WrongGradient(Scale):
    def call(self, inputs, training=False):
        return inputs * self.w.detach() * self.w.detach() + inputs * 0.0 * self.w


@pytest.mark.parametrize("cls, config, message", [
    (ForgetsConfig, {"freeze": True}, r"from_config\(get_config\(\)\) builds other weights"),
    (WrongShape, {}, r"compute_output_shape\(\(None, 3\)\) = \(None, 4\)"),
    (LeakyFreeze, {"freeze": True}, "frozen weight '.*' received a gradient"),
    (WrongGradient, {}, r"falsifying example:\ninput 0: [\s\S]*GradcheckError: gradcheck 'WrongGradient': "
                        r"wrong gradient for weight '.*/w' \(shape \(3,\)\) at w\[\d\] = 1\n[\s\S]*analytic 0 vs"),
])
def test_check_layer_fails_on_a_broken_layer(cls, config, message):
    with pytest.raises(GradcheckError, match=message):
        check_layer(cls(**config), examples=2)


def test_check_layer_passes_a_correct_layer_and_reports_gradients():
    report = check_layer(Scale(), examples=3)
    assert report.examples == 3 and 0 <= report.worst_rel_error < 1e-6
    frozen = check_layer(Scale(freeze=True), input_shape=(3, 4), examples=2)
    assert frozen.passed


def test_check_layer_needs_an_example_shape():
    class Shapeless(Layer):
        def call(self, inputs, training=False):
            return inputs

    with pytest.raises(GradcheckError, match="declares no example_input_shape"):
        check_layer(Shapeless)
    assert np.isclose(check_layer(Shapeless, input_shape=(2, 2)).worst_rel_error, 0.0, atol=1e-6)
