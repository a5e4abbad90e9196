# Type stubs of the package attnkern (the extension _attnkern). The docstrings at run time carry the
# shapes and the bounds, quoted from include/attnkern/bounds.hpp (attnkern.bounds holds the values).
from typing import Any, List, Literal, Optional, Sequence, Tuple, TypeVar, Union, overload

import numpy as np
import numpy.typing as npt

from . import bounds as bounds

__version__: str

# A NumPy array, an object with the buffer protocol, or a tensor with __dlpack__ (a PyTorch CPU tensor).
Array = Any
# The result's type: a NumPy array, or a PyTorch tensor when the first array argument is one.
Result = Any
Layout = Literal["BHSD", "BSHD", "bhsd", "bshd"]
Align = Literal["top_left", "bottom_right"]
DType = Union[str, type, np.dtype, Any]
IntVector = Union[Sequence[int], npt.NDArray[np.integer]]
FloatVector = Union[Sequence[float], npt.NDArray[np.float32]]

def tanh(x: Array, *, out: Optional[Array] = None, copy: bool = False) -> Result:
    """Elementwise tanh of a float32 array whose elements fill one block; within bounds.tanh_max_ulp ULP."""

def softmax(x: Array, axis: int = -1, *, out: Optional[Array] = None, copy: bool = False) -> Result:
    """Softmax along `axis` (contiguous; the other axes one block); bounds.softmax_max_rel_error."""

def log_softmax(x: Array, axis: int = -1, *, out: Optional[Array] = None, copy: bool = False) -> Result:
    """Log-softmax along `axis`; within bounds.log_softmax_max_error times max(1, |y|)."""

@overload
def attention_pool(h: Array, w: Array, bias: Optional[Array] = None, *, lengths: Optional[Union[int, IntVector]] = None,
                   return_weights: Literal[False] = False, out: Optional[Array] = None, copy: bool = False) -> Result: ...
@overload
def attention_pool(h: Array, w: Array, bias: Optional[Array] = None, *, lengths: Optional[Union[int, IntVector]] = None,
                   return_weights: Literal[True], out: Optional[Array] = None, copy: bool = False) -> Tuple[Result, Result]: ...

@overload
def additive_attention(keys: Array, query: Array, v: Array, values: Array, *,
                       lengths: Optional[Union[int, IntVector]] = None, return_weights: Literal[False] = False,
                       out: Optional[Array] = None, copy: bool = False) -> Result: ...
@overload
def additive_attention(keys: Array, query: Array, v: Array, values: Array, *,
                       lengths: Optional[Union[int, IntVector]] = None, return_weights: Literal[True],
                       out: Optional[Array] = None, copy: bool = False) -> Tuple[Result, Result]: ...

@overload
def attention(q: Array, k: Array, v: Array, *, layout: Layout = "BHSD", scale: Optional[float] = None,
              causal: bool = False, align: Align = "top_left",
              window: Optional[Tuple[Optional[int], Optional[int]]] = None, kv_starts: Optional[IntVector] = None,
              kv_lengths: Optional[IntVector] = None, mask: Optional[Array] = None, bias: Optional[Array] = None,
              bias_head_scales: Optional[FloatVector] = None, alibi_slopes: Optional[FloatVector] = None,
              softcap: float = 0.0, sinks: Optional[FloatVector] = None, return_lse: Literal[False] = False,
              out: Optional[Array] = None, out_dtype: Optional[DType] = None, copy: bool = False) -> Result: ...
@overload
def attention(q: Array, k: Array, v: Array, *, layout: Layout = "BHSD", scale: Optional[float] = None,
              causal: bool = False, align: Align = "top_left",
              window: Optional[Tuple[Optional[int], Optional[int]]] = None, kv_starts: Optional[IntVector] = None,
              kv_lengths: Optional[IntVector] = None, mask: Optional[Array] = None, bias: Optional[Array] = None,
              bias_head_scales: Optional[FloatVector] = None, alibi_slopes: Optional[FloatVector] = None,
              softcap: float = 0.0, sinks: Optional[FloatVector] = None, return_lse: Literal[True],
              out: Optional[Array] = None, out_dtype: Optional[DType] = None, copy: bool = False) -> Tuple[Result, Result]: ...

def attention_merge(out_a: Array, lse_a: Array, out_b: Array, lse_b: Array, *, layout: Layout = "BHSD",
                    out: Optional[Array] = None, lse: Optional[Array] = None, copy: bool = False) -> Tuple[Result, Result]:
    """Merges two partial results of the same rows over disjoint keys; bounds.merge_max_error."""

def kv_append(k_blocks: Array, v_blocks: Array, k: Array, v: Array, slots: Any) -> None:
    """Writes new positions' K and V into a paged cache's blocks (num_blocks, kv_heads, block_tokens, dim)."""

@overload
def paged_attention(q: Array, k_blocks: Array, v_blocks: Array, cu_q: Any, kv_lens: Any, block_tables: Any, *,
                    scale: Optional[float] = None, causal: bool = True, window: Optional[Tuple[Optional[int], Optional[int]]] = None,
                    alibi_slopes: Optional[Any] = None, softcap: float = 0.0, sinks: Optional[Any] = None,
                    return_lse: Literal[False] = False, out: Optional[Array] = None) -> Result: ...
@overload
def paged_attention(q: Array, k_blocks: Array, v_blocks: Array, cu_q: Any, kv_lens: Any, block_tables: Any, *,
                    scale: Optional[float] = None, causal: bool = True, window: Optional[Tuple[Optional[int], Optional[int]]] = None,
                    alibi_slopes: Optional[Any] = None, softcap: float = 0.0, sinks: Optional[Any] = None,
                    return_lse: Literal[True], out: Optional[Array] = None) -> Tuple[Result, Result]: ...

def set_num_threads(n: int) -> None: ...
def num_threads() -> int: ...
def set_threading(mode: Optional[Literal["pool", "openmp", "auto"]]) -> None: ...
def threading_mode() -> str: ...
def set_isa(name: Optional[str]) -> None: ...
def isa() -> str: ...
def available_isas() -> List[str]: ...
def _last_call_pointers() -> dict[str, int]: ...
