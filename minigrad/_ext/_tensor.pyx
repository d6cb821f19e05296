# cython: binding=False
"""TensorBase, graph Node and the reverse-mode engine: the hot path of every op call."""
cimport cython
cimport numpy as cnp
import numpy as np

from minigrad.errors import ShapeError

cnp.import_array()

cdef bint _grad_enabled = True
cdef object _tensor_cls = None    # minigrad.tensor.Tensor: it subclasses TensorBase, so it is bound on first use
cdef dict _ops_by_name = None     # minigrad.ops.base.by_name: every name apply() has resolved
cdef object _resolve_op = None    # minigrad.ops.get: the registry, for a name not resolved yet
cdef object _ndarray = np.ndarray
cdef object _asarray = np.asarray
cdef str _ALLOWED_KINDS = "fiub"


cdef object _bind_tensor():
    global _tensor_cls
    from minigrad.tensor import Tensor
    _tensor_cls = Tensor
    return Tensor


cdef object _op_named(str name):
    """The registered Op called name; ops.base keeps what it resolved in one dict, read here directly."""
    global _ops_by_name, _resolve_op
    if _ops_by_name is None:  # both modules import this one: bound on the first call by name
        from minigrad.ops import base
        _ops_by_name, _resolve_op = base.by_name, base.get
    op = _ops_by_name.get(name)
    return op if op is not None else _resolve_op(name)


def is_grad_enabled() -> bool:
    """True when ops record graph nodes for backward."""
    return _grad_enabled


def set_grad_enabled(bint mode) -> bool:
    """Switch recording on or off; returns the previous mode."""
    global _grad_enabled
    cdef bint previous = _grad_enabled
    _grad_enabled = mode
    return previous


cdef class Context:
    """What an op's backward reads, and nothing else: the call's attrs, what check returned (plan),
    the arrays forward saved and which inputs need a gradient."""
    cdef public dict attrs
    cdef public object plan
    cdef public tuple saved
    cdef public tuple needs_input_grad

    def save(self, *arrays) -> None:
        self.saved = arrays


@cython.trashcan(True)
cdef class Node:
    """One recorded op application: the op, its context and the input tensors needing grad."""
    cdef public object op
    cdef public Context ctx
    cdef public tuple inputs     # TensorBase, or None where that input needs no gradient

    def __repr__(self) -> str:
        return f"<Node {getattr(self.op, 'name', self.op)}>"


@cython.trashcan(True)
cdef class TensorBase:
    """An n-d numpy array with an optional gradient and the node that produced it."""
    cdef public object data
    cdef public object grad
    cdef public Node node
    cdef bint _requires_grad

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value) -> None:
        value = bool(value)
        if value and self.data.dtype.kind not in "fc":
            raise TypeError(
                f"only floating-point tensors can require grad, this one has dtype {self.data.dtype}"
            )
        if not value and self.node is not None:
            raise ValueError("cannot clear requires_grad on a non-leaf tensor; use .detach()")
        self._requires_grad = value

    @property
    def is_leaf(self) -> bool:
        return self.node is None


cdef inline object _new_tensor(object data, bint requires_grad, Node node):
    cls = _tensor_cls if _tensor_cls is not None else _bind_tensor()
    cdef TensorBase t = cls.__new__(cls)
    t.data = data
    t._requires_grad = requires_grad
    t.node = node
    return t


def make_tensor(data, bint requires_grad=False):
    """A Tensor around an already validated ndarray (no copy, no checks)."""
    return _new_tensor(data, requires_grad, None)


cdef object _float_dtype_of(tuple inputs):
    cdef object dtype = None
    for x in inputs:
        if isinstance(x, TensorBase):
            dtype = (<TensorBase>x).data.dtype
        elif type(x) is _ndarray:
            dtype = x.dtype
        else:
            continue
        if dtype.kind == "f":
            return dtype
    return dtype


cdef object _as_array(object x, object dtype, object op):
    """Scalars take the float dtype of the tensors they meet, so `t * 2` stays float32."""
    if type(x) is not _ndarray:
        try:
            if isinstance(x, (bool, int, float)) and dtype is not None and (
                dtype.kind == "f" or not isinstance(x, float)
            ):
                x = _asarray(x, dtype=dtype)
            else:
                x = _asarray(x)
        except OverflowError as e:  # e.g. 2**63 as an input: no dtype holds it
            raise TypeError(f"{getattr(op, 'name', op)}: input {x!r} does not fit any array dtype ({e})") from e
    if x.dtype.kind not in _ALLOWED_KINDS:
        raise TypeError(
            f"{getattr(op, 'name', op)}: unsupported dtype {x.dtype}; "
            "expected a float, integer or bool array"
        )
    return x


# errors an op's check may let through from numpy/Python without the op's name
_UNNAMED = (TypeError, ValueError, OverflowError, IndexError, ZeroDivisionError)


cdef object _named(object op, BaseException e):
    """The error to raise instead of e: a TypeError stays one, the rest become ShapeError (a ValueError)."""
    if isinstance(e, TypeError):
        return TypeError(f"{op.name}: {e}")
    prefix = "" if isinstance(e, ValueError) else f"{type(e).__name__}: "
    return ShapeError(f"{op.name}: {prefix}{e}")


cdef bint _broadcastable(cnp.ndarray a, cnp.ndarray b) noexcept:
    """numpy's rule, aligned from the last axis: each pair of sizes is equal or contains a 1."""
    cdef int i, na = cnp.PyArray_NDIM(a), nb = cnp.PyArray_NDIM(b)
    cdef cnp.npy_intp *da = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp *db = cnp.PyArray_DIMS(b)
    for i in range(1, min(na, nb) + 1):
        if da[na - i] != db[nb - i] and da[na - i] != 1 and db[nb - i] != 1:
            return False
    return True


cdef void _check_broadcast(object op, list arrays) except *:
    """A ShapeError naming op unless every array input broadcasts with every other."""
    cdef Py_ssize_t i, j, n = len(arrays)
    for i in range(n):
        for j in range(i + 1, n):
            if not _broadcastable(arrays[i], arrays[j]):
                shapes = " and ".join([str(a.shape) for a in arrays])
                raise ShapeError(f"{op.name}: inputs of shapes {shapes} do not broadcast together (numpy's rule)")


def apply(op, *inputs, **attrs):
    """Run a registered op (name or Op) on Tensors/arrays/scalars and record it for backward."""
    return _apply(op, inputs, attrs)


# needs_input_grad of the common arities, shared instead of built per call
cdef tuple _NONE_NEED = ((), (False,), (False, False), (False, False, False))
cdef tuple _ALL_NEED = ((), (True,), (True, True), (True, True, True))


cdef object _forward(object op, Context ctx, list arrays, dict attrs, Py_ssize_t n):
    """op.forward on the checked arrays, as an ndarray; errors binding the call or allocating name the op."""
    try:  # one or two inputs without attrs (most calls) go without an args tuple and kwargs dict
        if not attrs and n == 2:
            out = op.forward(ctx, arrays[0], arrays[1])
        elif not attrs and n == 1:
            out = op.forward(ctx, arrays[0])
        else:
            out = op.forward(ctx, *arrays, **attrs)
    except TypeError as e:
        if e.__traceback__.tb_next is None:  # raised binding the call (an op without check): forward never ran
            raise TypeError(f"{op.name}: {e}") from None
        raise
    except MemoryError as e:  # what was asked for is too large: still a MemoryError, but whose
        raise MemoryError(f"{op.name}: {e}") from e
    return out if type(out) is _ndarray else _asarray(out)


cpdef object _apply(object op, tuple inputs, dict attrs):
    cdef Py_ssize_t i, n = len(inputs), n_grad = 0
    cdef list arrays = [None] * n
    cdef list needs = None
    cdef object x, dtype = None, out, plan = None
    cdef bint scalars_seen = False
    if type(op) is str:
        op = _op_named(op)
    for i in range(n):
        x = inputs[i]
        if isinstance(x, TensorBase):
            arrays[i] = (<TensorBase>x).data
            if (<TensorBase>x)._requires_grad:
                if needs is None:
                    needs = [False] * n
                needs[i] = True
                n_grad += 1
        elif type(x) is _ndarray and x.dtype.kind in _ALLOWED_KINDS:
            arrays[i] = x
        else:
            if not scalars_seen:
                dtype = _float_dtype_of(inputs)
                scalars_seen = True
            arrays[i] = _as_array(x, dtype, op)
    if op.broadcasts:
        _check_broadcast(op, arrays)
    if op.has_check:  # the only validation of the call: forward runs on what it accepted
        try:
            plan = op.check(*arrays, **attrs)
        except _UNNAMED as e:  # e.g. a missing input or an unknown attr: say which op refused it
            if op.name in str(e):
                raise
            raise _named(op, e) from e
    cdef bint record = n_grad and _grad_enabled and op.differentiable
    cdef Context ctx = Context.__new__(Context)
    ctx.attrs = attrs
    ctx.plan = plan
    if not record:
        ctx.needs_input_grad = _NONE_NEED[n] if n <= 3 else (False,) * n
    else:
        ctx.needs_input_grad = _ALL_NEED[n] if n_grad == n and n <= 3 else tuple(needs)
    out = _forward(op, ctx, arrays, attrs, n)
    if not record:
        return _new_tensor(out, False, None)
    cdef Node node = Node.__new__(Node)
    node.op = op
    node.ctx = ctx
    node.inputs = inputs if n_grad == n else tuple([inputs[i] if needs[i] else None for i in range(n)])
    return _new_tensor(out, True, node)


cdef object _sum_to(object g, tuple shape, object node):
    """Undo broadcasting: sum g down to `shape` (leading axes, then axes that were 1)."""
    cdef Py_ssize_t lead = g.ndim - len(shape)
    if lead < 0:
        raise ShapeError(f"{node}: backward returned gradient of shape {g.shape} for an input of shape {shape}")
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    axes = tuple([i for i in range(len(shape)) if shape[i] == 1 and g.shape[i] != 1])
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if g.shape != shape:
        raise ShapeError(f"{node}: backward returned gradient of shape {g.shape} for an input of shape {shape}")
    return g


cdef list _topological(Node root):
    """Nodes reachable from root, inputs before users; an explicit stack avoids recursion limits."""
    cdef list order = []
    cdef set done = set()
    cdef set entered = set()
    cdef list stack = [root]
    cdef Node n, parent
    while stack:
        n = stack[len(stack) - 1]
        if n in done:
            stack.pop()
            continue
        if n not in entered:
            entered.add(n)
            if n.inputs is None:
                raise RuntimeError(
                    "backward through a graph that was already freed; pass retain_graph=True "
                    "to the first backward() to go through it twice"
                )
            for x in n.inputs:
                if x is not None:
                    parent = (<TensorBase>x).node
                    if parent is not None and parent not in done:
                        stack.append(parent)
        else:
            stack.pop()
            done.add(n)
            order.append(n)
    return order


cdef void _accumulate_leaf(TensorBase t, object g) except *:
    if g.dtype != t.data.dtype:
        g = g.astype(t.data.dtype)
    if t.grad is None:
        t.grad = np.array(g, copy=True)  # owned: g may be shared with other inputs' gradients
    else:
        np.add(t.grad, g, out=t.grad)    # in place: optimizers may keep grads in one flat buffer


def backward(TensorBase root, grad=None, bint retain_graph=False) -> None:
    """Accumulate d(root)/d(leaf) into every leaf's .grad that requires grad."""
    if not root._requires_grad:
        raise RuntimeError("backward() on a tensor that does not require grad (no graph to go through)")
    if grad is None:
        if root.data.size != 1:
            raise ValueError(
                f"backward() without a gradient needs a scalar (one-element) tensor, "
                f"received shape {root.data.shape}; pass grad= of that shape"
            )
        grad = np.ones_like(root.data)
    else:
        if isinstance(grad, TensorBase):
            grad = (<TensorBase>grad).data
        grad = np.asarray(grad, dtype=root.data.dtype)
        if grad.shape != root.data.shape:
            raise ShapeError(f"backward(): grad has shape {grad.shape}, tensor has shape {root.data.shape}")
    if root.node is None:
        _accumulate_leaf(root, grad)
        return
    _run_backward(root.node, grad, retain_graph)


cdef void _run_backward(Node root, object grad, bint retain_graph) except *:
    cdef list order = _topological(root)
    cdef dict grads = {root: grad}
    cdef Node node
    cdef TensorBase x
    cdef Py_ssize_t i
    for node in reversed(order):
        g = grads.pop(node, None)
        if g is None:
            continue
        in_grads = node.op.backward(node.ctx, g)
        if type(in_grads) is not tuple:
            in_grads = tuple(in_grads) if isinstance(in_grads, list) else (in_grads,)
        if len(in_grads) != len(node.inputs):
            raise RuntimeError(
                f"{node.op.name}: backward returned {len(in_grads)} gradients for {len(node.inputs)} inputs"
            )
        for i in range(len(node.inputs)):
            if node.inputs[i] is None:
                continue
            x = <TensorBase>node.inputs[i]
            gi = in_grads[i]
            if gi is None:
                raise RuntimeError(f"{node.op.name}: backward returned None for input {i}, which needs a gradient")
            if type(gi) is not _ndarray:
                gi = _asarray(gi)
            if gi.shape != x.data.shape:
                gi = _sum_to(gi, x.data.shape, node.op.name)
            if gi.dtype != x.data.dtype:
                gi = gi.astype(x.data.dtype)
            if x.node is None:
                _accumulate_leaf(x, gi)
            elif x.node in grads:
                grads[x.node] = grads[x.node] + gi
            else:
                grads[x.node] = gi
        if not retain_graph:
            node.ctx = None
            node.inputs = None
