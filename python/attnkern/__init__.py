"""attnkern: CPU kernels for the attention mechanism, on NumPy arrays and PyTorch CPU tensors.

Arrays go in as they are, without a copy: float32 (and, for attention, float16 and bfloat16), any
strides the C API takes (attention: any non-negative strides with the last axis contiguous; the
others: C-contiguous, or one block in any axis order where the docstring says so). Another dtype is
a TypeError naming it, a layout the kernel cannot take a ValueError, unless the call says copy=True:
then that argument is converted once (np.ascontiguousarray, to float32 when its dtype was the
problem). Results are NumPy arrays (PyTorch tensors when the first array argument is one); out=
writes in place. Shapes are checked before the call, and a C status becomes a ValueError (or
MemoryError, NotImplementedError) carrying its message. Every kernel call releases the GIL; calls
from several threads are safe and give the same bits as one after the other.

Error bounds: attnkern.bounds, the constants of include/attnkern/bounds.hpp.
"""
from . import bounds  # noqa: F401
from ._attnkern import (  # noqa: F401
    __version__,
    _last_call_pointers,
    additive_attention,
    attention,
    attention_merge,
    attention_pool,
    available_isas,
    isa,
    kv_append,
    log_softmax,
    num_threads,
    paged_attention,
    set_isa,
    set_num_threads,
    set_threading,
    softmax,
    tanh,
    threading_mode,
)

__all__ = [
    "__version__", "tanh", "softmax", "log_softmax", "attention_pool", "additive_attention", "attention",
    "attention_merge", "kv_append", "paged_attention", "set_num_threads", "num_threads", "set_threading", "threading_mode", "set_isa", "isa", "available_isas", "bounds",
]
