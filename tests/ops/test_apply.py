"""ops.apply: check is the only validation (its result is ctx.plan), shape failures are ShapeError
naming the op, and forward's own errors pass through untouched."""
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from minigrad import Tensor, ops
from minigrad.errors import ShapeError

batch = st.lists(st.integers(1, 3), max_size=3).map(tuple)


@given(batch_a=batch, batch_b=batch)
@example(batch_a=(2,), batch_b=(5,))  # numpy's raw "could not be broadcast" reached the user here
@example(batch_a=(2, 3), batch_b=(3, 3))
def test_matmul_checks_that_batch_axes_broadcast(batch_a: tuple, batch_b: tuple) -> None:
    a, b = np.ones(batch_a + (2, 4)), np.ones(batch_b + (4, 3))
    try:
        expected = np.matmul(a, b)
    except ValueError:
        with pytest.raises(ShapeError, match=r"matmul: the batch axes .* do not broadcast"):
            ops.apply("matmul", a, b)
    else:
        np.testing.assert_array_equal(ops.apply("matmul", a, b).data, expected)


@pytest.mark.parametrize("name", ["add", "multiply", "maximum", "arctan2", "less"])
def test_elementwise_shapes_that_do_not_broadcast_are_a_shape_error(name: str) -> None:
    with pytest.raises(ShapeError, match=rf"^{name}: inputs of shapes \(2, 3\) and \(2,\) do not broadcast"):
        ops.apply(name, np.ones((2, 3)), np.ones(2))


@given(name=st.sampled_from(["stack", "concatenate"]), ndim=st.integers(0, 2), axis=st.integers(-5, 5),
       count=st.integers(1, 3))
@example(name="stack", ndim=0, axis=1, count=1)  # found by the fuzz harness: numpy's AxisError reached the user
def test_an_axis_out_of_range_is_refused_by_the_op_even_for_one_array(name: str, ndim: int, axis: int,
                                                                     count: int) -> None:
    xs = [np.zeros((2,) * ndim) for _ in range(count)]
    limit = ndim + 1 if name == "stack" else ndim
    if -limit <= axis < limit:
        assert ops.apply(name, *xs, axis=axis).data.ndim == (ndim + 1 if name == "stack" else ndim)
    else:
        with pytest.raises(ShapeError, match=rf"^{name}: axis {axis} is out of range"):
            ops.apply(name, *xs, axis=axis)


@pytest.mark.parametrize("shape", [np.array([1.0], np.float32), 1.5, "1", (1, None), [True]])
@pytest.mark.parametrize("name, attrs", [("reshape", {}), ("scatter", {"indices": np.zeros((1, 1), int)}),
                                         ("broadcast_to", {})])
def test_a_target_shape_that_is_not_ints_is_refused_by_the_op(name: str, attrs: dict, shape) -> None:
    # found by the fuzz harness: numpy's "cannot be interpreted as an integer" reached the user
    with pytest.raises(TypeError, match=rf"^{name}: expected shape to be an int or a tuple of ints"):
        ops.apply(name, np.zeros(1), shape=shape, **attrs)


def test_pad_refuses_a_fill_that_is_not_a_number_and_an_unaddressable_result() -> None:
    with pytest.raises(TypeError, match="^pad: value must be a number"):
        ops.apply("pad", np.zeros(0, bool), pad_width=((0, 0),), value=[])
    with pytest.raises(ValueError, match="^pad: .* more than memory can address"):
        ops.apply("pad", np.zeros((0, 3), np.float32), pad_width=2**31)


def test_reshape_counts_huge_dims_exactly() -> None:
    with pytest.raises(ShapeError, match="^reshape: cannot reshape"):
        ops.apply("reshape", np.zeros(1), shape=(2**32, 2**32, 0, -1))
    assert ops.apply("reshape", np.zeros(6), shape=np.array([2, 3])).data.shape == (2, 3)


def test_kernel_shape_failures_are_a_shape_error_from_the_op() -> None:
    with pytest.raises(ShapeError, match="max_pool2d: pool_size=.* does not fit"):
        ops.apply("max_pool2d", np.ones((1, 2, 2, 1)), pool_size=3)
    with pytest.raises(ShapeError, match="conv2d: kernel .* does not fit"):
        ops.apply("conv2d", np.ones((1, 2, 2, 1)), np.ones((3, 3, 1, 1)))


class _Probe(ops.Op):
    """y = x; check returns a plan that forward and backward read back."""

    name = "probe"

    def check(self, x: np.ndarray, *, fail: bool = False) -> tuple:
        return ("plan", x.shape)

    def forward(self, ctx: ops.Context, x: np.ndarray, *, fail: bool = False) -> np.ndarray:
        assert ctx.plan == ("plan", x.shape)
        if fail:
            raise ValueError("a bug inside forward")
        return x.copy()

    def backward(self, ctx: ops.Context, dy: np.ndarray) -> tuple:
        assert ctx.plan[1] == dy.shape
        return (dy,)


def test_what_check_returns_is_ctx_plan_in_forward_and_backward() -> None:
    x = Tensor(np.ones(3), requires_grad=True)
    y = ops.apply(_Probe(), x)
    assert y.node.ctx.plan == ("plan", (3,))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(3))


def test_an_error_inside_forward_is_not_rewrapped() -> None:
    with pytest.raises(ValueError, match="^a bug inside forward$") as info:
        ops.apply(_Probe(), np.ones(2), fail=True)
    assert type(info.value) is ValueError


def test_context_holds_only_its_declared_fields() -> None:
    ctx = ops.apply(_Probe(), Tensor(np.ones(2), requires_grad=True)).node.ctx
    with pytest.raises(AttributeError):
        ctx.shape = (2,)


def test_a_call_that_does_not_fit_an_op_without_check_names_the_op() -> None:
    with pytest.raises(TypeError, match="^exp: .*unexpected keyword argument 'axis'"):
        ops.apply("exp", np.ones(2), axis=0)
    with pytest.raises(TypeError, match="^add: .*missing 1 required positional argument"):
        ops.apply("add", np.ones(2))


def test_a_name_registered_again_is_what_apply_runs() -> None:
    class Twice(ops.Op):
        def forward(self, ctx, x):
            return 2 * x

    class Thrice(ops.Op):
        def forward(self, ctx, x):
            return 3 * x

    try:
        ops.register("scale_probe")(Twice)
        assert ops.apply("scale_probe", np.ones(1)).item() == 2
        ops.register("scale_probe", override=True)(Thrice)
        assert ops.apply("scale_probe", np.ones(1)).item() == 3
    finally:
        ops.registry._builtins.pop("scale_probe")
        ops.base.by_name.clear()
