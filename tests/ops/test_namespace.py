"""The keras.ops-style functions: forward against NumPy, gradients by finite differences, Keras defaults."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import Tensor, ops
from minigrad.errors import ShapeError
from minigrad.testing import gradcheck
from minigrad.testing import strategies as S

RNG = np.random.default_rng(0)
A = RNG.normal(size=(3, 4))
B = RNG.normal(size=(4, 2))
C = RNG.normal(size=(2, 3, 4))

# (name, call, numpy formula) on float64 inputs
FORWARD = [
    ("square", lambda: ops.square(A), lambda: A ** 2),
    ("rsqrt", lambda: ops.rsqrt(np.abs(A) + 1), lambda: 1 / np.sqrt(np.abs(A) + 1)),
    ("log1p", lambda: ops.log1p(np.abs(A)), lambda: np.log1p(np.abs(A))),
    ("log10", lambda: ops.log10(np.abs(A) + 1), lambda: np.log10(np.abs(A) + 1)),
    ("expm1", lambda: ops.expm1(A), lambda: np.expm1(A)),
    ("sin", lambda: ops.sin(A), lambda: np.sin(A)),
    ("cos", lambda: ops.cos(A), lambda: np.cos(A)),
    ("sign", lambda: ops.sign(A), lambda: np.sign(A)),
    ("prod", lambda: ops.prod(A, axis=1), lambda: np.prod(A, axis=1)),
    ("cumsum", lambda: ops.cumsum(C, axis=1), lambda: np.cumsum(C, axis=1)),
    ("cumsum_flat", lambda: ops.cumsum(C), lambda: np.cumsum(C)),
    ("var", lambda: ops.var(C, axis=(0, 2)), lambda: np.var(C, axis=(0, 2))),
    ("std", lambda: ops.std(A, axis=-1, keepdims=True), lambda: np.std(A, axis=-1, keepdims=True)),
    ("logsumexp", lambda: ops.logsumexp(C * 300, axis=-1), lambda: np.log(np.sum(np.exp(C * 300 - (C * 300).max(-1, keepdims=True)), -1)) + (C * 300).max(-1)),
    ("max_initial", lambda: ops.max(A, axis=0, initial=1.0), lambda: np.max(A, axis=0, initial=1.0)),
    ("argmax", lambda: ops.argmax(A, axis=-1), lambda: np.argmax(A, axis=-1)),
    ("argmin", lambda: ops.argmin(A), lambda: np.argmin(A)),
    ("dot_2d", lambda: ops.dot(A, B), lambda: A @ B),
    ("dot_nd", lambda: ops.dot(C, B), lambda: np.dot(C, B)),
    ("tensordot", lambda: ops.tensordot(C, A.T, axes=([2], [0])), lambda: np.tensordot(C, A.T, axes=([2], [0]))),
    ("outer", lambda: ops.outer(A[0], B[:, 0]), lambda: np.outer(A[0], B[:, 0])),
    ("trace", lambda: ops.trace(A), lambda: np.trace(A)),
    ("norm_vec", lambda: ops.norm(A, axis=-1), lambda: np.linalg.norm(A, axis=-1)),
    ("norm_l1", lambda: ops.norm(A, ord=1, axis=0), lambda: np.linalg.norm(A, ord=1, axis=0)),
    ("norm_p3", lambda: ops.norm(A, ord=3, axis=1), lambda: np.linalg.norm(A, ord=3, axis=1)),
    ("norm_fro", lambda: ops.norm(A), lambda: np.linalg.norm(A)),
    ("norm_mat_inf", lambda: ops.norm(A, ord=np.inf), lambda: np.linalg.norm(A, ord=np.inf)),
    ("norm_mat_1", lambda: ops.norm(C, ord=1, axis=(1, 2)), lambda: np.linalg.norm(C, ord=1, axis=(1, 2))),
    ("moveaxis", lambda: ops.moveaxis(C, 0, -1), lambda: np.moveaxis(C, 0, -1)),
    ("moveaxis_many", lambda: ops.moveaxis(C, (0, 1), (2, 0)), lambda: np.moveaxis(C, (0, 1), (2, 0))),
    ("swapaxes", lambda: ops.swapaxes(C, 0, 2), lambda: np.swapaxes(C, 0, 2)),
    ("expand_dims", lambda: ops.expand_dims(A, (0, -1)), lambda: np.expand_dims(A, (0, -1))),
    ("squeeze", lambda: ops.squeeze(A[None, :, None]), lambda: A),
    ("tile", lambda: ops.tile(A, (2, 1, 3)), lambda: np.tile(A, (2, 1, 3))),
    ("repeat_int", lambda: ops.repeat(A, 2, axis=1), lambda: np.repeat(A, 2, axis=1)),
    ("repeat_list", lambda: ops.repeat(A, [1, 0, 2], axis=0), lambda: np.repeat(A, [1, 0, 2], axis=0)),
    ("repeat_flat", lambda: ops.repeat(A, 2), lambda: np.repeat(A, 2)),
    ("broadcast_to", lambda: ops.broadcast_to(A[:, :1], (2, 3, 4)), lambda: np.broadcast_to(A[:, :1], (2, 3, 4))),
    ("take", lambda: ops.take(C, [2, 0, 2], axis=1), lambda: np.take(C, [2, 0, 2], axis=1)),
    ("take_flat", lambda: ops.take(A, np.array([[0, 5], [11, -1]])), lambda: np.take(A, [[0, 5], [11, -1]])),
    ("take_along_axis", lambda: ops.take_along_axis(A, np.argsort(A, axis=1)[:, :2], axis=1),
     lambda: np.take_along_axis(A, np.argsort(A, axis=1)[:, :2], axis=1)),
    ("sort", lambda: ops.sort(C, axis=1), lambda: np.sort(C, axis=1)),
    ("flip", lambda: ops.flip(C, axis=(0, 2)), lambda: np.flip(C, axis=(0, 2))),
    ("tril", lambda: ops.tril(C, k=1), lambda: np.tril(C, k=1)),
    ("triu", lambda: ops.triu(A, k=-1), lambda: np.triu(A, k=-1)),
    ("ravel", lambda: ops.ravel(C), lambda: C.ravel()),
    ("concatenate", lambda: ops.concatenate([A, A * 2], axis=-1), lambda: np.concatenate([A, A * 2], -1)),
    ("stack", lambda: ops.stack([A, A], axis=1), lambda: np.stack([A, A], axis=1)),
    ("pad", lambda: ops.pad(A, ((1, 0), (0, 2)), constant_values=3), lambda: np.pad(A, ((1, 0), (0, 2)), constant_values=3)),
    ("where", lambda: ops.where(A > 0, A, -A), lambda: np.abs(A)),
    ("clip", lambda: ops.clip(A, -0.5, 0.5), lambda: np.clip(A, -0.5, 0.5)),
    ("softmax_all", lambda: ops.softmax(A, axis=None), lambda: np.exp(A) / np.exp(A).sum()),
    ("softmax_axes", lambda: ops.softmax(C, axis=(0, 2)), lambda: np.exp(C) / np.exp(C).sum((0, 2), keepdims=True)),
    ("log_softmax", lambda: ops.log_softmax(A, axis=0), lambda: A - np.log(np.exp(A).sum(0, keepdims=True))),
    ("gelu_tanh", lambda: ops.gelu(A), lambda: 0.5 * A * (1 + np.tanh(np.sqrt(2 / np.pi) * (A + 0.044715 * A ** 3)))),
    ("leaky_relu", lambda: ops.leaky_relu(A), lambda: np.where(A > 0, A, 0.2 * A)),
    ("softsign", lambda: ops.softsign(A), lambda: A / (1 + np.abs(A))),
    ("log_sigmoid", lambda: ops.log_sigmoid(A * 50), lambda: -np.logaddexp(0, -A * 50)),
    ("mish", lambda: ops.mish(A), lambda: A * np.tanh(np.log1p(np.exp(A)))),
    ("hard_silu", lambda: ops.hard_silu(A * 4), lambda: A * 4 * np.clip(A * 4 / 6 + 0.5, 0, 1)),
    ("glu", lambda: ops.glu(A), lambda: A[:, :2] / (1 + np.exp(-A[:, 2:]))),
    ("relu6", lambda: ops.relu6(A * 8), lambda: np.clip(A * 8, 0, 6)),
    ("normalize", lambda: ops.normalize(A), lambda: A / np.linalg.norm(A, axis=-1, keepdims=True)),
    ("moments_var", lambda: ops.moments(C, axes=[0, 1])[1], lambda: np.var(C, axis=(0, 1))),
]


@pytest.mark.parametrize("name, call, expected", FORWARD, ids=[f[0] for f in FORWARD])
def test_forward_matches_numpy(name, call, expected):
    out = call()
    assert isinstance(out, Tensor)
    np.testing.assert_allclose(out.numpy(), expected(), rtol=1e-10, atol=1e-12)


# composed functions: differentiable through the registered ops they are built from
GRADIENTS = {
    "var": lambda x: ops.var(x, axis=-1),
    "std": lambda x: ops.std(x + 3.0 * np.arange(x.shape[-1]), axis=-1),
    "logsumexp": lambda x: ops.logsumexp(x, axis=0),
    "tile": lambda x: ops.tile(x, (2, 3)),
    "repeat": lambda x: ops.repeat(x, [2, 1] * (x.shape[0] // 2) + [3] * (x.shape[0] % 2), axis=0),
    "take": lambda x: ops.take(x, [0, 0, -1], axis=0),
    "sort": lambda x: ops.sort(x, axis=-1),
    "flip": lambda x: ops.flip(x),
    "split": lambda x: ops.split(x, [1], axis=-1)[1] * 2.0,
    "tensordot": lambda x: ops.tensordot(x, x, axes=([0], [0])),
    "norm": lambda x: ops.norm(x + 3.0, axis=-1),
    "norm_p": lambda x: ops.norm(x + 3.0, ord=3, axis=0),
    "softmax_axes": lambda x: ops.softmax(x, axis=None),
    "normalize": lambda x: ops.normalize(x + 3.0),
    "glu": lambda x: ops.glu(ops.concatenate([x, x * 0.5], axis=-1)),
    "mish": ops.mish,
    "tril": lambda x: ops.tril(x),
}


@pytest.mark.parametrize("name", sorted(GRADIENTS))
@given(data=st.data())
def test_composed_functions_have_correct_gradients(name, data):
    x = data.draw(S.distinct_arrays(S.shapes(min_dims=2, max_dims=2, min_side=2)))  # std of one value: infinite slope
    gradcheck(GRADIENTS[name], x)


def test_prod_gradient_is_exact_at_zeros():
    x = Tensor(np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 5.0]]), requires_grad=True)
    ops.prod(x, axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[6.0, 0.0, 0.0], [0.0, 0.0, 0.0]])


def test_inputs_and_dtypes_follow_keras():
    assert ops.ones((2, 3)).dtype == np.float32 and ops.zeros(4).shape == (4,)
    assert ops.arange(5).dtype == np.int32 and ops.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert ops.eye(3, 4, k=1).numpy()[0, 1] == 1 and ops.full((2,), 7).numpy().tolist() == [7.0, 7.0]
    assert ops.one_hot(np.array([0, 2, -1]), 3).numpy().tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 0]]
    assert ops.one_hot([1], 2, axis=0).shape == (2, 1)
    assert ops.multi_hot([[0, 2], [1, 1]], 3).numpy().tolist() == [[1, 0, 1], [0, 1, 0]]
    assert ops.zeros_like(np.ones(3, np.int64)).dtype == np.int64
    assert ops.convert_to_tensor([1.0, 2.0]).dtype == np.float32
    assert ops.cast(Tensor([1.5]), "int32").dtype == np.int32 and ops.dtype(ops.ones(1)) == "float32"
    assert ops.shape(np.ones((2, 5))) == (2, 5) and ops.ndim(A) == 2 and ops.size(C) == 24
    assert isinstance(ops.convert_to_numpy(ops.ones(2)), np.ndarray)
    assert ops.add([1.0, 2.0], 1).numpy().tolist() == [2.0, 3.0]
    assert ops.split(ops.arange(6), 3)[2].numpy().tolist() == [4, 5]
    rows, cols = ops.where(np.eye(2) > 0)
    assert rows.numpy().tolist() == [0, 1] and cols.numpy().tolist() == [0, 1]


def test_stop_gradient_cuts_the_graph():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (ops.stop_gradient(x) * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])


def test_registry_api_still_works_next_to_the_namespace():
    assert "matmul" in ops.names() and isinstance(ops.get("matmul"), ops.Op)
    assert ops.apply("add", 1.0, Tensor([1.0])).item() == 2.0
    assert callable(ops.shape) and ops.conv is ops.nn.conv and mg.ops.matmul is ops.matmul


def test_custom_layer_written_with_keras_ops():
    """The Keras guide's idiom: a layer computing with ops.* trains through backward."""
    w = Tensor(RNG.normal(size=(4, 3)), requires_grad=True)
    x = RNG.normal(size=(5, 4))
    y = ops.mean(ops.square(ops.relu(ops.matmul(x, w)) - ops.expand_dims(ops.arange(5.0), -1)))
    y.backward()
    assert w.grad.shape == (4, 3) and np.isfinite(w.grad).all()


@pytest.mark.parametrize("call, error, match", [
    (lambda: ops.split(A, 3, axis=1), ValueError, "split: axis 1 of size 4"),
    (lambda: ops.squeeze(A, axis=0), ShapeError, "squeeze"),
    (lambda: ops.take(A, [7], axis=0), IndexError, "take: indices"),
    (lambda: ops.take(A, [0.5]), TypeError, "take: indices must be integers"),
    (lambda: ops.broadcast_to(A, (2, 3)), ShapeError, "broadcast_to: cannot broadcast"),
    (lambda: ops.tensordot(A, A, axes=([1], [0])), ShapeError, "tensordot"),
    (lambda: ops.norm(A, ord="nuc"), ValueError, "singular values"),
    (lambda: ops.one_hot([0], 0), ValueError, "one_hot: num_classes"),
    (lambda: ops.cast(A, "complex64"), TypeError, "cast: unsupported dtype"),
    (lambda: ops.pad(A, 1, mode="reflect"), ValueError, "pad: only mode='constant'"),
    (lambda: ops.concatenate(A), TypeError, "concatenate: expected a non-empty list"),
    (lambda: ops.where(A > 0, A), ValueError, "where: give both"),
    (lambda: ops.conv_transpose(np.ones((1, 3, 3, 2)), np.ones((3, 3, 4, 5))), ValueError, "input channels"),
])
def test_bad_input_names_the_function(call, error, match):
    with pytest.raises(error, match=match):
        call()


MORE = [
    ("einsum", lambda: ops.einsum("bij,bjk->bik", C, np.ones((2, 4, 2))), lambda: np.einsum("bij,bjk->bik", C, np.ones((2, 4, 2)))),
    ("einsum_ellipsis", lambda: ops.einsum("...j,jk", C, B), lambda: np.einsum("...j,jk", C, B)),
    ("einsum_implicit", lambda: ops.einsum("ij,jk", A, B), lambda: A @ B),
    ("tan", lambda: ops.tan(A), lambda: np.tan(A)),
    ("sinh", lambda: ops.sinh(A), lambda: np.sinh(A)),
    ("cosh", lambda: ops.cosh(A), lambda: np.cosh(A)),
    ("erf", lambda: ops.erf(A), lambda: __import__("scipy.special").special.erf(A)),
    ("logaddexp", lambda: ops.logaddexp(A * 400, A[::-1] * 400), lambda: np.logaddexp(A * 400, A[::-1] * 400)),
    ("average", lambda: ops.average(A, axis=1, weights=[1.0, 2.0, 3.0, 4.0]),
     lambda: np.average(A, axis=1, weights=[1.0, 2.0, 3.0, 4.0])),
    ("top_k", lambda: ops.top_k(A, 2)[0], lambda: -np.sort(-A, axis=-1)[:, :2]),
    ("roll", lambda: ops.roll(C, 2, axis=2), lambda: np.roll(C, 2, axis=2)),
    ("roll_flat", lambda: ops.roll(A, -3), lambda: np.roll(A, -3)),
    ("diagonal", lambda: ops.diagonal(C, offset=1, axis1=1, axis2=2), lambda: np.diagonal(C, 1, 1, 2)),
    ("diag_vec", lambda: ops.diag(A[0], k=-1), lambda: np.diag(A[0], k=-1)),
    ("hstack", lambda: ops.hstack([A, A]), lambda: np.hstack([A, A])),
    ("vstack", lambda: ops.vstack([A[0], A[1]]), lambda: np.vstack([A[0], A[1]])),
    ("slice", lambda: ops.slice(C, (1, 0, 2), (1, -1, 2)), lambda: C[1:2, :, 2:4]),
    ("unstack", lambda: ops.unstack(C, axis=1)[2], lambda: C[:, 2]),
    ("mod", lambda: ops.mod(A, 0.3), lambda: np.mod(A, 0.3)),
]


@pytest.mark.parametrize("name, call, expected", MORE, ids=[f[0] for f in MORE])
def test_more_functions_match_numpy(name, call, expected):
    np.testing.assert_allclose(call().numpy(), expected(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["roll", "diag", "diagonal", "top_k", "average", "logaddexp"])
@given(data=st.data())
def test_more_composed_gradients(name, data):
    fns = {"roll": lambda x: ops.roll(x, 1, axis=0), "diag": lambda x: ops.diag(ops.diagonal(x)),
           "diagonal": lambda x: ops.diagonal(x, offset=1), "top_k": lambda x: ops.top_k(x, 2)[0],
           "average": lambda x: ops.average(x, axis=0, weights=np.arange(1.0, x.shape[0] + 1)),
           "logaddexp": lambda x: ops.logaddexp(x, x[::-1] * 2.0)}
    gradcheck(fns[name], data.draw(S.distinct_arrays(S.shapes(min_dims=2, max_dims=2, min_side=2))))


def test_in_top_k_counts_ties_as_in():
    assert ops.in_top_k([0, 2], np.array([[0.5, 0.5, 0.1], [0.9, 0.8, 0.1]]), 1).numpy().tolist() == [True, False]


def _correlate_nhwc(x, w, stride=1):
    """Valid 2-D cross-correlation, x (N, H, W, C), w (KH, KW, C, F): the definition, by loops."""
    kh, kw = w.shape[:2]
    oh, ow = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    y = np.zeros((x.shape[0], oh, ow, w.shape[3]))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw]
            y[:, i, j] = np.einsum("nhwc,hwcf->nf", patch, w)
    return y


def test_nn_conv_depthwise_and_pooling_match_their_definitions():
    x, w = RNG.normal(size=(2, 5, 6, 3)), RNG.normal(size=(3, 2, 3, 4))
    np.testing.assert_allclose(ops.nn.conv(x, w, strides=2).numpy(), _correlate_nhwc(x, w, 2), rtol=1e-10)
    first = ops.nn.conv(x.transpose(0, 3, 1, 2), w, data_format="channels_first").numpy()
    np.testing.assert_allclose(first.transpose(0, 2, 3, 1), _correlate_nhwc(x, w), rtol=1e-10)
    np.testing.assert_allclose(ops.nn.conv(x[:, 0], w[0]).numpy(), _correlate_nhwc(x[:, :1], w[:1])[:, 0], rtol=1e-10)
    dw = RNG.normal(size=(2, 2, 3, 2))  # (kh, kw, C, multiplier): output channel c * 2 + m
    expected = np.concatenate([_correlate_nhwc(x[..., c:c + 1], dw[:, :, c:c + 1]) for c in range(3)], axis=-1)
    np.testing.assert_allclose(ops.depthwise_conv(x, dw).numpy(), expected, rtol=1e-10)
    pooled = ops.max_pool(x, 2).numpy()
    np.testing.assert_allclose(pooled, x[:, :4, :6].reshape(2, 2, 2, 3, 2, 3).max(axis=(2, 4)), rtol=1e-12)
    avg = ops.average_pool(x, (2, 3), strides=(1, 3)).numpy()
    np.testing.assert_allclose(avg[:, 0, 0], x[:, :2, :3].mean(axis=(1, 2)), rtol=1e-12)


def test_nn_crossentropies_are_keras_per_sample_values():
    z = RNG.normal(size=(4, 3))
    y = np.eye(3)[[0, 2, 1, 1]]
    log_p = z - np.log(np.exp(z).sum(-1, keepdims=True))
    np.testing.assert_allclose(ops.categorical_crossentropy(y, z, from_logits=True).numpy(), -(y * log_p).sum(-1))
    np.testing.assert_allclose(ops.sparse_categorical_crossentropy([0, 2, 1, 1], z, from_logits=True).numpy(),
                               -(y * log_p).sum(-1))
    np.testing.assert_allclose(ops.categorical_crossentropy(y.T, z.T, from_logits=True, axis=0).numpy(),
                               -(y * log_p).sum(-1))
    p = 1 / (1 + np.exp(-z))
    t = (RNG.uniform(size=z.shape) > 0.5).astype(float)
    np.testing.assert_allclose(ops.binary_crossentropy(t, p).numpy(),
                               -(t * np.log(p) + (1 - t) * np.log(1 - p)), rtol=1e-6)
    np.testing.assert_allclose(ops.normalize(A, axis=0, order=1).numpy(), A / np.abs(A).sum(0), rtol=1e-12)
    mean, variance = ops.moments(C, axes=[2], keepdims=True)
    np.testing.assert_allclose(mean.numpy(), C.mean(2, keepdims=True))
    np.testing.assert_allclose(variance.numpy(), C.var(2, keepdims=True))


def test_control_flow_runs_eagerly_and_keeps_gradients():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = ops.fori_loop(0, 3, lambda i, v: v * x, ops.ones(2, dtype="float64"))
    y = ops.cond(ops.sum(y) > 0, lambda: y * 2.0, lambda: y)
    count, total = ops.while_loop(lambda c, t: c < 4, lambda c, t: (c + 1, t + x), (0, ops.zeros(2, "float64")))
    carry, ys = ops.scan(lambda c, xi: (c + xi, c * xi), ops.zeros((), "float64"), x)
    (ops.sum(y) + ops.sum(total) + carry + ops.sum(ys) + ops.sum(ops.map(ops.square, x))).backward()
    assert count == 4 and ys.numpy().tolist() == [0.0, 2.0]  # ys = (0 * x0, x0 * x1)
    np.testing.assert_allclose(x.grad, 6 * x.data ** 2 + 4 + 1 + x.data[::-1] + 2 * x.data)


def _attention_reference(q, k, v, mask=None, causal=False):
    logits = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(q.shape[-1])
    keep = np.ones(logits.shape, bool) if mask is None else np.broadcast_to(mask, logits.shape)
    if causal:
        keep = keep & np.tril(np.ones(logits.shape[-2:], bool))
    logits = np.where(keep, logits, -1e30)
    w = np.exp(logits - logits.max(-1, keepdims=True))
    return np.einsum("bnts,bsnh->btnh", w / w.sum(-1, keepdims=True), v)


def test_dot_product_attention_and_batch_normalization_match_numpy():
    q, k, v = RNG.normal(size=(2, 3, 4, 5)), RNG.normal(size=(2, 6, 2, 5)), RNG.normal(size=(2, 6, 2, 5))
    kk, vv = np.repeat(k, 2, axis=2), np.repeat(v, 2, axis=2)
    np.testing.assert_allclose(ops.dot_product_attention(q, k, v).numpy(), _attention_reference(q, kk, vv), rtol=1e-10)
    mask = RNG.uniform(size=(2, 1, 3, 6)) > 0.3
    mask[..., 0] = True
    np.testing.assert_allclose(ops.dot_product_attention(q, k, v, mask=mask).numpy(),
                               _attention_reference(q, kk, vv, mask), rtol=1e-10)
    qs = RNG.normal(size=(2, 6, 4, 5))
    np.testing.assert_allclose(ops.dot_product_attention(qs, kk, vv, is_causal=True).numpy(),
                               _attention_reference(qs, kk, vv, causal=True), rtol=1e-10)
    gradcheck(lambda a: ops.dot_product_attention(a, kk[:1, :2], vv[:1, :2]), q[:1, :2])
    mean, var, gamma, beta = C.mean((0, 2)), C.var((0, 2)), np.arange(1.0, 4.0), np.ones(3)
    np.testing.assert_allclose(ops.batch_normalization(C, mean, var, axis=1, offset=beta, scale=gamma).numpy(),
                               (C - mean[:, None]) / np.sqrt(var[:, None] + 1e-3) * gamma[:, None] + 1, rtol=1e-12)


def test_inv_det_solve_match_numpy():
    m = RNG.normal(size=(2, 3, 3)) + 3 * np.eye(3)
    b = RNG.normal(size=(2, 3, 2))
    np.testing.assert_allclose(ops.inv(m).numpy(), np.linalg.inv(m), rtol=1e-10)
    np.testing.assert_allclose(ops.det(m).numpy(), np.linalg.det(m), rtol=1e-10)
    np.testing.assert_allclose(ops.solve(m, b).numpy(), np.linalg.solve(m, b), rtol=1e-10)
    np.testing.assert_allclose(ops.solve(m[0], b[0, :, 0]).numpy(), np.linalg.solve(m[0], b[0, :, 0]), rtol=1e-10)
    with pytest.raises(ShapeError, match="inv: expected"):
        ops.inv(np.ones((2, 3)))


@ops.custom_gradient
def log1pexp(x):
    """The Keras documentation's example: a numerically stable gradient for log(1 + exp(x))."""
    e = ops.exp(x)

    def grad(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))

    return ops.log(1 + e), grad


def test_custom_gradient_uses_the_returned_gradient():
    x = Tensor(np.array([-2.0, 0.5, 3.0]), requires_grad=True)
    y = log1pexp(x)
    np.testing.assert_allclose(y.numpy(), np.log1p(np.exp(x.data)))
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 1 / (1 + np.exp(-x.data)))
    gradcheck(log1pexp, np.array([[0.3, -1.2]]))


@pytest.mark.parametrize("method", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile_and_median_match_numpy(method):
    np.testing.assert_allclose(ops.quantile(C, [0.1, 0.5, 0.9], axis=(0, 2), method=method).numpy(),
                               np.quantile(C, [0.1, 0.5, 0.9], axis=(0, 2), method=method), rtol=1e-12)
    np.testing.assert_allclose(ops.quantile(A, 0.3, axis=1, keepdims=True, method=method).numpy(),
                               np.quantile(A, 0.3, axis=1, keepdims=True, method=method), rtol=1e-12)
    np.testing.assert_allclose(ops.median(C).numpy(), np.median(C), rtol=1e-12)


@given(data=st.data())
def test_quantile_gradient(data):
    x = data.draw(S.distinct_arrays(S.shapes(min_dims=2, max_dims=2, min_side=2)))
    gradcheck(lambda t: ops.quantile(t, [0.25, 0.6], axis=0), x)


def test_scatter_slice_update_and_scatter_update_match_numpy():
    idx = np.array([[0, 1], [2, 3], [0, 1]])
    dense = np.zeros((3, 4))
    np.add.at(dense, (idx[:, 0], idx[:, 1]), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(ops.scatter(idx, np.array([1.0, 2.0, 3.0]), (3, 4)).numpy(), dense)
    rows = ops.scatter(np.array([[1]]), np.ones((1, 4)), (3, 4)).numpy()
    assert rows[1].tolist() == [1.0] * 4 and rows.sum() == 4
    updated = A.copy()
    updated[1:3, 2:4] = -1.0
    np.testing.assert_allclose(ops.slice_update(A, (1, 2), -np.ones((2, 2))).numpy(), updated)
    replaced = A.copy()
    replaced[0, 1], replaced[2, 3] = 7.0, 8.0
    np.testing.assert_allclose(ops.scatter_update(A, np.array([[0, 1], [2, 3]]), np.array([7.0, 8.0])).numpy(),
                               replaced)
    with pytest.raises(ShapeError, match="slice_update: updates of shape"):
        ops.slice_update(A, (2, 2), np.ones((2, 2)))


def test_cumprod_matches_numpy_and_its_gradient_is_exact_at_zeros():
    np.testing.assert_allclose(ops.cumprod(C, axis=1).numpy(), np.cumprod(C, axis=1), rtol=1e-12)
    np.testing.assert_allclose(ops.cumprod(A).numpy(), np.cumprod(A), rtol=1e-12)
    x = Tensor(np.array([2.0, 0.0, 3.0, 4.0]), requires_grad=True)
    ops.cumprod(x).sum().backward()  # y = (2, 0, 0, 0): dy/dx1 = 2 + 2*3 + 2*3*4
    np.testing.assert_allclose(x.grad, [1.0, 32.0, 0.0, 0.0])


def test_inverse_trigonometric_functions_match_numpy():
    u = np.tanh(A)  # inside (-1, 1)
    for name, arg in [("arctan", A), ("arcsin", u), ("arccos", u), ("arcsinh", A), ("arctanh", u),
                      ("arccosh", np.abs(A) + 1.5)]:
        np.testing.assert_allclose(getattr(ops, name)(arg).numpy(), getattr(np, name)(arg), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ops.arctan2(A, A[::-1]).numpy(), np.arctan2(A, A[::-1]), rtol=1e-12)
    gradcheck(lambda t: ops.arcsinh(t) + ops.arctanh(ops.tanh(t) * 0.5), A)
