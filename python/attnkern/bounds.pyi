# attnkern.bounds: the documented error bounds, the values of include/attnkern/bounds.hpp.
tanh_max_ulp: float
softmax_max_rel_error: float
softmax_abs_floor: float
softmax_max_sum_error: float
log_softmax_max_error: float
attention_pool_max_error: float
additive_attention_base_error: float
additive_attention_error_per_v: float
attention_abs_floor: float
sdpa_random_input_error: float
f16_out_floor: float
merge_max_error: float
golden_tolerance: float

def additive_attention_max_error(v_l1: float) -> float: ...
def sdpa_max_error(head_dim: int, sigma: float, keys: int) -> float: ...
def attention_max_error(head_dim: int, sigma: float, keys: int) -> float: ...
def lse_max_error(head_dim: int, sigma: float, keys: int) -> float: ...
def half_out_error(bf16: bool) -> float: ...
