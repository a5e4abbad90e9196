/* attnkern: CPU kernels for the attention mechanism. The C API, C99-compatible and stable.
 *
 * Conventions shared by every entry point:
 *  - Arrays are float32, densely packed (attnkern_attention's tensors: any element strides), any
 *    alignment. Sizes are element counts (size_t).
 *  - Zero sizes are valid and write nothing; a pointer may then be NULL.
 *  - Every argument is checked before anything is written: on any error the function returns a
 *    status other than ATTNKERN_OK, leaves every output untouched, and records which argument failed
 *    and why for attnkern_last_error_message(). The library never prints, aborts, or lets a C++
 *    exception cross this boundary.
 *  - Memory: softmax of very long rows and the attention kernels keep scratch per calling thread,
 *    allocated before anything is written, grown to the largest call seen and freed when the thread
 *    exits; a call with a shape seen before allocates nothing. Its size per kernel and shape is in
 *    docs/embedding.md. A failed allocation returns ATTNKERN_ERROR_OUT_OF_MEMORY.
 *  - Results are bitwise identical for any thread count, and for repeated calls. They may differ in
 *    the last bits between ISA paths, each of which meets the documented error bounds.
 *  - Error bounds: each is defined once, in attnkern/bounds.hpp (namespace attnkern::bounds), and
 *    quoted below by its name; docs/numerics.md explains them. Errors are against the float64
 *    reference (attnkern/reference.hpp).
 *  - Threads: above a work threshold, kernels share their work with the library's own thread pool,
 *    whose calling thread takes part and takes every item no worker has claimed (so a call never
 *    waits for a worker that is asleep or whose core another program has), or with OpenMP's threads,
 *    or with the caller's pool: attnkern_set_threading and attnkern_set_thread_pool choose. Called
 *    from inside an enclosing OpenMP parallel region they run on the calling thread only, unless the
 *    caller has allowed nested parallelism (omp_set_max_active_levels or OMP_MAX_ACTIVE_LEVELS above
 *    the current level), as for an inner `omp parallel` of its own.
 */
#ifndef ATTNKERN_ATTNKERN_H
#define ATTNKERN_ATTNKERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(_WIN32) && !defined(ATTNKERN_STATIC)
#  if defined(ATTNKERN_BUILDING)
#    define ATTNKERN_API __declspec(dllexport)
#  else
#    define ATTNKERN_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define ATTNKERN_API __attribute__((visibility("default")))
#else
#  define ATTNKERN_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum attnkern_status {
  ATTNKERN_OK = 0,
  ATTNKERN_ERROR_NULL_POINTER = 1,     /* a required pointer is NULL while its array is non-empty */
  ATTNKERN_ERROR_INVALID_SIZE = 2,     /* a size whose element count or byte count overflows size_t */
  ATTNKERN_ERROR_INVALID_LENGTH = 3,   /* lengths[b] < 0 or > the sequence size */
  ATTNKERN_ERROR_ALIASING = 4,         /* an output overlaps an input other than the allowed exact in-place case */
  ATTNKERN_ERROR_UNSUPPORTED_ISA = 5,  /* an ISA path name that is unknown, or a path this CPU or build lacks */
  ATTNKERN_ERROR_INVALID_ARGUMENT = 6, /* any other bad value, e.g. a non-finite scale */
  ATTNKERN_ERROR_OUT_OF_MEMORY = 7,    /* the kernel's scratch could not be allocated (nothing written) */
  ATTNKERN_ERROR_UNSUPPORTED = 8       /* a valid request this version cannot serve: an element type it
                                          does not take yet, or fields of a newer argument struct */
} attnkern_status;

/* The library's version, "MAJOR.MINOR.PATCH". */
ATTNKERN_API const char* attnkern_version(void);

/* A one-sentence description of a status; never NULL (unknown values get a sentence saying so). A
 * static string. */
ATTNKERN_API const char* attnkern_status_message(attnkern_status status);

/* The calling thread's last error in full: the function, the argument and its value, e.g.
 * "attnkern_attention_pool_f32: lengths[3] = 75 is outside [0, steps = 60]" or
 * "attnkern_set_isa: \"avx512\" cannot be used: this CPU (or its operating system) does not support
 * it; usable here: avx2 sse2 scalar". Every call that returns an error status sets it; calls that
 * succeed leave it as it was; "" before the thread's first error. Never NULL. The string belongs to
 * the thread and stays valid until its next failing call. */
ATTNKERN_API const char* attnkern_last_error_message(void);

/* The active ISA path: "avx512", "avx2", "sse2", "neon" or "scalar".
 * Initially it is the best path both the CPU (and its OS) and this build support, unless the
 * environment variable ATTNKERN_ISA names another usable one (see attnkern_isa_env_status). */
ATTNKERN_API const char* attnkern_isa(void);

/* The paths this build can run on this CPU, best first, separated by single spaces, e.g.
 * "avx512 avx2 sse2 scalar" ("scalar" is always last). A static string. */
ATTNKERN_API const char* attnkern_isa_list(void);

/* Whether the environment variable ATTNKERN_ISA was used. It is read once, at the library's first
 * call (any attnkern_* function), so a program that sets it must do so before that.
 * ATTNKERN_OK when it was unset or empty, or named a path of attnkern_isa_list (which then became the
 * initial path); ATTNKERN_ERROR_UNSUPPORTED_ISA when it was set to anything else (a misspelt or
 * upper-case name, or a path this CPU or build lacks) and ignored: the initial path is then the best
 * one, and attnkern_last_error_message() says what the value was and why it was ignored. The library
 * never prints; attnkern-bench and attnkern-numerics print a note when it was ignored. */
ATTNKERN_API attnkern_status attnkern_isa_env_status(void);

/* Forces a path: "avx512", "avx2", "sse2", "neon", or "scalar" (plain C++ evaluated in double: the
 * references of attnkern/reference.hpp for tanh and softmax, chunk kernels cut and merged as the SIMD
 * paths' for the others); names are exact and lower-case. NULL or "auto" selects the best available
 * path again. Returns ATTNKERN_ERROR_UNSUPPORTED_ISA, and changes nothing, for an unknown name or a
 * path that this CPU or build lacks; attnkern_last_error_message() then says which: an unknown
 * name, a path of another processor family, or one this CPU lacks.
 * Process-wide; a call running concurrently uses either the old or the new path. */
ATTNKERN_API attnkern_status attnkern_set_isa(const char* name);

/* The number of threads kernels may use: n > 0 sets it, 0 (or a negative n) restores the default
 * of the threading mode (attnkern_threading_mode): "pool": OMP_NUM_THREADS's first value when it is
 * a positive number, else the CPUs the process may run on (its affinity mask), read once; "openmp":
 * omp_get_max_threads() of the calling thread; "external": the caller's pool's `threads`.
 * Process-wide. */
ATTNKERN_API void attnkern_set_num_threads(int n);
/* The number of threads a kernel called now from this thread may use: the number set, or the
 * default above. In the "pool" and "openmp" modes: 1 inside an active OpenMP parallel region when
 * nested parallelism is not allowed one more level (OpenMP's default). */
ATTNKERN_API int attnkern_num_threads(void);

/* Where the kernels' parallel work runs, process-wide; the output bits are the same in every mode.
 *  - "pool" (the default): the library's own pool. The calling thread takes part, and takes every
 *    item of work that no worker has claimed, so a call never waits for a worker that has not
 *    started, is asleep, or has lost its core to another program; workers are started on first need,
 *    spin 50 us after a call (yielding their core to any other ready thread every few microseconds),
 *    then sleep; nothing is allocated per call. One call at a time uses the pool: a call made while
 *    another thread's call has it runs on its calling thread. When a call had to wait far longer for
 *    a worker's last item than it worked itself (the machine is oversubscribed), the next calls run
 *    on the calling thread for 10 ms (doubled at each repeat within a second, up to 1 s); after 8
 *    calls in a row that no worker helped, for 10 ms. A forked child gets a fresh pool. The library's
 *    threads are named "attnkern" and block every signal.
 *  - "openmp": an OpenMP parallel region per parallel loop (a build with ATTNKERN_OPENMP, the
 *    default build). The better choice on a machine whose cores are the program's alone, and in a
 *    program whose own threads are OpenMP's (docs/embedding.md has the measured figures).
 *  - "auto" or NULL: the initial mode again: "pool", unless the environment variable
 *    ATTNKERN_THREADING named another mode (see attnkern_threading_env_status).
 * Setting a mode unsets the caller's pool (attnkern_set_thread_pool). Returns
 * ATTNKERN_ERROR_INVALID_ARGUMENT, and changes nothing, for another name ("external" included: that
 * mode is set by attnkern_set_thread_pool) and for "openmp" in a build without OpenMP;
 * attnkern_last_error_message() says why. A call running while the mode changes may run its
 * remaining parallel loops in the new mode (with the same bits). */
ATTNKERN_API attnkern_status attnkern_set_threading(const char* mode);
/* The current mode: "pool", "openmp", or "external" while the caller's pool is set. A static
 * string. */
ATTNKERN_API const char* attnkern_threading_mode(void);
/* Whether the environment variable ATTNKERN_THREADING was used; it is read once, at the first call
 * that needs the mode. ATTNKERN_OK when it was unset, empty, "auto", "pool", or "openmp" in a build
 * with OpenMP (which then became the initial mode); ATTNKERN_ERROR_INVALID_ARGUMENT when it was set
 * to anything else and ignored (the initial mode is then "pool"), with attnkern_last_error_message()
 * saying what the value was and why. */
ATTNKERN_API attnkern_status attnkern_threading_env_status(void);

/* A task of a kernel's parallel work: attnkern's, called by the pool with the context it was given
 * and an index in [0, count). */
typedef void (*attnkern_task_fn)(void* context, size_t index);
/* The caller's parallel-for (pthreadpool's parallelize_1d, say): it must call task(context, i) once
 * for every i in [0, count), on any of its threads or the calling one, in any order, at once or one
 * after another, and return when all have returned. */
typedef void (*attnkern_parallel_for_fn)(void* pool, attnkern_task_fn task, void* context, size_t count);

/* Runs every kernel's parallel work on the caller's thread pool (the "external" mode of
 * attnkern_threading_mode): parallel_for(pool, ...) with count <= threads tasks per parallel loop (or
 * attnkern_set_num_threads' number, when set). NULL parallel_for returns to the mode set before
 * ("pool" unless attnkern_set_threading chose another). Process-wide, like attnkern_set_num_threads: every entry point and every calling thread
 * use it without a new argument. A call running while the pool is changed may run its remaining
 * parallel loops on the new one (its bits are the same either way): the old pool must stay usable
 * until such calls return.
 *  - The output bits do not change: the work is cut the same way whoever runs it.
 *  - attnkern's tasks never wait for one another, so a pool that runs them one after another on
 *    the calling thread is correct too. A kernel called from inside one of the pool's own tasks calls
 *    parallel_for from there: the pool must not deadlock then (run the tasks on the calling thread,
 *    or let it take part, as oneTBB, the library's own pool and the example pool of
 *    examples/thread_pool.cpp do).
 *  - Scratch memory stays the calling thread's (docs/embedding.md, Memory): task i of a loop uses
 *    part i of it, whichever thread runs it.
 * Returns ATTNKERN_ERROR_INVALID_ARGUMENT, and changes nothing, when parallel_for is set and
 * threads < 1. */
ATTNKERN_API attnkern_status attnkern_set_thread_pool(attnkern_parallel_for_fn parallel_for, void* pool, int threads);

/* y[i] = tanh(x[i]) for i < n. y may equal x (in place); any other overlap is
 * ATTNKERN_ERROR_ALIASING. Max error tanh_max_ulp (1 ULP) over every float input on every ISA path;
 * odd, monotonic, |y| <= 1, tanh(+-0) = +-0, tanh(+-inf) = +-1, NaN -> NaN. */
ATTNKERN_API attnkern_status attnkern_tanh_f32(const float* x, float* y, size_t n);

/* Row-wise softmax of a rows x cols row-major matrix: y = e^(x - max) / sum e^(x - max) per row.
 * y may equal x; any other overlap is ATTNKERN_ERROR_ALIASING. Every output within
 * softmax_max_rel_error (1e-6) relative of the float64 value, plus softmax_abs_floor (2^-126) for
 * outputs below FLT_MIN, row sums within softmax_max_sum_error (1e-6) of 1, for any row length and
 * input magnitude. -inf entries give exactly 0; a row of only -inf gives zeros;
 * a NaN or +inf anywhere in a row makes the whole row NaN. */
ATTNKERN_API attnkern_status attnkern_softmax_f32(const float* x, float* y, size_t rows, size_t cols);

/* Row-wise log-softmax: y = (x - max) - log sum e^(x - max). Within log_softmax_max_error (1e-6)
 * times max(1, |y|) of the float64 value; -inf entries (and rows of only -inf) give -inf; NaN and +inf as for softmax. */
ATTNKERN_API attnkern_status attnkern_log_softmax_f32(const float* x, float* y, size_t rows, size_t cols);

/* Feed-forward attention pooling (the fused score -> softmax -> weighted sum), per batch item b:
 *   e[b,t] = tanh(dot(h[b,t,:], w) + bias[t]);  alpha[b,:] = softmax(e[b,:]);  context[b,:] = sum_t alpha[b,t] h[b,t,:]
 * h: batch x steps x features; w: features; bias: steps, or NULL for none; lengths: batch, or NULL for
 * all steps; context: batch x features; weights: batch x steps (alpha), or NULL when not wanted.
 * Positions at or past lengths[b] are never read (padding may hold NaN); their weights are 0; a length
 * of 0 gives a context of zeros (so does steps = 0). Lengths outside [0, steps] give
 * ATTNKERN_ERROR_INVALID_LENGTH; outputs overlapping an input or each other ATTNKERN_ERROR_ALIASING.
 * Accuracy against the float64 reference, any ISA path, sequences up to 2^24 steps: weights within
 * attention_pool_max_error (1e-5) relative, context within attention_pool_max_error times max|h|
 * over the positions read, each plus attention_abs_floor (2^-126). A NaN among them makes that
 * item's outputs NaN. */
ATTNKERN_API attnkern_status attnkern_attention_pool_f32(const float* h, const float* w, const float* bias,
                                                         const int32_t* lengths, size_t batch, size_t steps,
                                                         size_t features, float* context, float* weights);

/* Additive (Bahdanau) attention, per batch item b:
 *   s[b,t] = dot(v, tanh(keys[b,t,:] + query[b,:]));  alpha[b,:] = softmax(s[b,:]);  context[b,:] = sum_t alpha[b,t] values[b,t,:]
 * keys: batch x steps x attn_dim (the encoder states already projected, H W_e); query: batch x attn_dim
 * (the decoder state projected, s W_h); v: attn_dim; values: batch x steps x features; lengths,
 * weights and errors as for attnkern_attention_pool_f32. Accuracy: as there with the bound
 * additive_attention_max_error(||v||_1) = max(1e-5, 5e-7 ||v||_1) (1e-5 up to ||v||_1 = 20; beyond,
 * float32 tanh's own rounding, 2^-24 ||v||_1 in the score, dominates). */
ATTNKERN_API attnkern_status attnkern_additive_attention_f32(const float* keys, const float* query, const float* v,
                                                             const float* values, const int32_t* lengths, size_t batch,
                                                             size_t steps, size_t attn_dim, size_t features,
                                                             float* context, float* weights);

/* Scaled dot-product attention, per batch item b and query row i:
 *   out[b,i,:] = sum_j softmax_j(scale * dot(q[b,i,:], k[b,j,:])) v[b,j,:]
 * over the keys j < kv_lengths[b] (all kv_len when kv_lengths is NULL) and, with causal != 0, only
 * j <= i + (kv_len - q_len) (the mask aligned to the bottom right, as when decoding with a key cache).
 * q: batch x q_len x head_dim; k: batch x kv_len x head_dim; v: batch x kv_len x value_dim; out:
 * batch x q_len x value_dim; batch counts batch times heads. Callers usually pass scale =
 * 1/sqrt(head_dim); a non-finite scale is ATTNKERN_ERROR_INVALID_ARGUMENT (checked first). Keys and
 * values at or past kv_lengths[b] are never read; a query row that sees no key gives zeros. Lengths
 * outside [0, kv_len] give ATTNKERN_ERROR_INVALID_LENGTH; out overlapping an input
 * ATTNKERN_ERROR_ALIASING. The T x T scores are never stored: scratch is O(threads x block x
 * (head_dim + value_dim)), plus O(kv_len / 512 x value_dim) per block of query rows when there are
 * fewer blocks than twice the threads (decoding); the bytes are in docs/embedding.md.
 * Accuracy against the float64 reference, any ISA path, up to 2^24 keys: each output row within
 * max|v| sdpa_max_error(head_dim, sigma, n) = max|v| 2^-24 (2 (head_dim + 1) sigma + 2 ln n + 136),
 * plus attention_abs_floor, with sigma = scale * max_j sum_c |q[b,i,c] k[b,j,c]| and n the keys the
 * row sees; the sigma term is the float32 dot product's own rounding. On random inputs the tests also
 * hold every row to sdpa_random_input_error (1e-5) max|v|; measured: 1.0e-7 max|v| on uniform
 * [-1, 1] inputs, 1.31e-6 max|v| in the numerics fingerprint (scores up to 256). A NaN or +inf score
 * among a row's keys makes the row NaN. */
ATTNKERN_API attnkern_status attnkern_sdpa_f32(const float* q, const float* k, const float* v,
                                               const int32_t* kv_lengths, size_t batch, size_t q_len, size_t kv_len,
                                               size_t head_dim, size_t value_dim, float scale, int causal, float* out);

/* ---------------------------------------------------------------------------------------------
 * Attention on the caller's tensors: one call, described by a struct.
 *
 * For each batch item b, query head h and query row i (all rows of all heads at once):
 *   s[j]   = scale * dot(q[b,h,i,:], k[b,g,j,:])   over the keys j the row sees, g = h / (q_heads / kv_heads)
 *   out[b,h,i,:] = sum_j softmax_j(s) v[b,g,j,:],   lse[b,h,i] = log sum_j e^(s[j])
 * The keys row i of item b sees are j in [start_b, end_b) (kv_starts[b] or 0, kv_lengths[b] or
 * kv_len), and, relative to the row's diagonal key d:
 *   causal: j <= d;   window: d - window_left <= j <= d + window_right;
 *   d = start_b + i (ATTNKERN_ALIGN_TOP_LEFT: PyTorch's is_causal, ONNX's default) or
 *   d = end_b - q_len + i (ATTNKERN_ALIGN_BOTTOM_RIGHT: the last row on the item's last key, as when
 *   decoding against a key cache; attnkern_sdpa_f32's mask is this one with end_b = kv_len).
 * Order of operations, per row and key (as ggml's flash_attn_ext and PyTorch; see docs/embedding.md):
 *   1. s = scale * dot(q, k)                          (scale 0: 1 / sqrt(head_dim))
 *   2. s = softcap * tanh(s / softcap)                (softcap > 0; attnkern's own tanh)
 *   3. s += bias[b,h,i,j] * (bias_head_scales[h] or 1) + alibi_slopes[h] * (j - d)
 *   4. hidden keys drop out: outside [start_b, end_b), past the causal diagonal, outside the window,
 *      mask[b,h,i,j] == 0, bias[b,h,i,j] == -inf (whatever s was, NaN included)
 *   5. out = sum_j e^(s_j - M) v_j / (sum_j e^(s_j - M) + e^(sink_h - M)), M = max(s_j, sink_h);
 *      lse = M + log(that denominator). A sink (sinks[h]) weighs in the denominator only.
 *   (ONNX's Attention applies its softcap after adding the mask, where a -inf entry would then count
 *   as -softcap and no longer hide its key: attnkern hides it. Without a softcap the orders agree.)
 * Guarantees:
 *  - Keys outside [start_b, end_b) are never read. A key that the causal mask, the window, the mask
 *    or a -inf bias hides from a row may be read (it shares a block with keys other rows see) but
 *    never changes that row, whatever its K and V hold.
 *  - A row that sees no key gets zeros and lse = -inf (with a sink: zeros and lse = the sink), never
 *    NaN. A NaN or +inf score among a row's keys makes the row NaN.
 *  - A row's bits depend only on its query, the keys and values it sees, the scale and the modifiers:
 *    not on the thread count, the batch, the number of query rows in the call, how the caller splits
 *    the rows into calls, or the other heads of its group. A row decoded alone (q_len = 1,
 *    bottom-right) equals the same row inside a prefill, bit for bit, on every ISA path.
 *  - Grouped-query heads (q_heads a multiple of kv_heads: MHA, GQA, MQA) share each block of K and V
 *    while it is in L1: it is read once per group and query block, not once per query head.
 * Accuracy: without modifiers as attnkern_sdpa_f32's (sdpa_max_error, sdpa_random_input_error);
 * with a softcap, bias or ALiBi within attention_max_error(head_dim, sigma, n), sigma then counting
 * the largest |bias term| and |ALiBi term| of the row too; lse within lse_max_error(head_dim, sigma,
 * n) (with modifiers: head_dim + 7 in its place) of the float64 reference. Scratch: as attnkern_sdpa_f32's,
 * with its rows counted over the query heads of a group (docs/embedding.md).
 * ------------------------------------------------------------------------------------------- */

/* Element types of q, k, v and out (each its own; strides count elements). f16 and bf16 inputs are
 * widened to float exactly and computed as float32 ones are, so the bounds hold as they are for the
 * widened values and a row's bits are the same as with those values in float32; an f16 or bf16 out is
 * rounded once, to nearest even (bounds.hpp: half_out_error). Every ISA path takes every type (F16C
 * or AVX-512 conversions where the CPU has them). The bias takes the three too (bias_dtype); lse, the
 * slopes and the sinks stay float. */
typedef enum attnkern_dtype {
  ATTNKERN_F32 = 0,
  ATTNKERN_F16 = 1, /* IEEE binary16 */
  ATTNKERN_BF16 = 2
} attnkern_dtype;

/* Where a row's diagonal key lies (see above). */
typedef enum attnkern_align {
  ATTNKERN_ALIGN_TOP_LEFT = 0,
  ATTNKERN_ALIGN_BOTTOM_RIGHT = 1
} attnkern_align;

/* Element strides of a tensor [batch, heads, seq, dim] whose last dimension is contiguous: element
 * (b, h, s, c) lies at data + b * batch + h * head + s * seq + c. Not negative. Zero broadcasts
 * (inputs only; an output's rows may not overlap). */
typedef struct attnkern_strides {
  int64_t batch, head, seq;
} attnkern_strides;

/* The description of an attention call. Zero every field, then set struct_size = sizeof(*args) and
 * what you need (attnkern_attention_args_init does the first two): every feature is off at zero.
 * Fields are only ever added at the end; the library reads struct_size bytes, treats fields past
 * them as zero, and refuses (ATTNKERN_ERROR_UNSUPPORTED) a larger struct whose unknown fields are
 * not all zero. */
typedef struct attnkern_attention_args {
  size_t struct_size;
  size_t batch, q_heads, kv_heads, q_len, kv_len, head_dim, value_dim;
  const void* q; /* [batch, q_heads, q_len, head_dim] */
  attnkern_strides q_strides;
  const void* k; /* [batch, kv_heads, kv_len, head_dim] */
  attnkern_strides k_strides;
  const void* v; /* [batch, kv_heads, kv_len, value_dim] */
  attnkern_strides v_strides;
  void* out; /* [batch, q_heads, q_len, value_dim]; may not overlap any input */
  attnkern_strides out_strides;
  int32_t q_dtype, k_dtype, v_dtype, out_dtype; /* attnkern_dtype */
  float scale;                                  /* finite; 0 means 1 / sqrt(head_dim) */
  int32_t causal;                               /* nonzero: row i sees keys j <= d */
  int32_t align;                                /* attnkern_align */
  int32_t window;                               /* nonzero: a sliding window of the two below */
  int64_t window_left, window_right;            /* >= 0 */
  const int32_t* kv_starts;                     /* [batch] or NULL: keys from kv_starts[b] (left padding) */
  const int32_t* kv_lengths;                    /* [batch] or NULL: keys before kv_lengths[b] (right padding) */
  float* lse;                                   /* [batch, q_heads, q_len] or NULL: log-sum-exp per row */
  attnkern_strides lse_strides;                 /* (lse's dim is 1: seq is the row stride) */
  /* Score modifiers (see "Order of operations" above): */
  float softcap;                 /* > 0: s = softcap * tanh(s / softcap); 0: none */
  const void* bias;              /* [batch, q_heads, q_len, kv_len] or NULL: s += bias; -inf hides the key */
  attnkern_strides bias_strides; /* its batch, head and row strides (0 broadcasts); keys contiguous */
  const float* bias_head_scales; /* [q_heads] or NULL: s += bias_head_scales[h] * bias instead (ggml's ALiBi) */
  const float* alibi_slopes;     /* [q_heads] or NULL: s += alibi_slopes[h] * (j - d) */
  const uint8_t* mask;           /* [batch, q_heads, q_len, kv_len] bytes or NULL: 0 hides the key */
  attnkern_strides mask_strides; /* its batch, head and row strides (0 broadcasts); keys contiguous */
  const float* sinks;            /* [q_heads] or NULL: a logit per head in the softmax's denominator only */
  int32_t bias_dtype;            /* attnkern_dtype of bias (ggml's f16 mask, PyTorch's half attn_mask): 0 = F32 */
} attnkern_attention_args;

static inline void attnkern_attention_args_init(attnkern_attention_args* args) {
  memset(args, 0, sizeof *args);
  args->struct_size = sizeof(attnkern_attention_args);
}

/* Strides of contiguous layouts, for `heads` heads of `seq` rows of `dim` elements:
 * BHSD = [batch, heads, seq, dim], BSHD = [batch, seq, heads, dim]. Packed QKV [batch, seq, 3,
 * heads, dim]: q, k and v at data, data + heads * dim and data + 2 * heads * dim, each with the BSHD
 * strides of 3 * heads heads (batch = seq * 3 * heads * dim, head = dim, seq = 3 * heads * dim). */
static inline attnkern_strides attnkern_strides_bhsd(size_t heads, size_t seq, size_t dim) {
  attnkern_strides s;
  s.batch = (int64_t)(heads * seq * dim);
  s.head = (int64_t)(seq * dim);
  s.seq = (int64_t)dim;
  return s;
}
static inline attnkern_strides attnkern_strides_bshd(size_t heads, size_t seq, size_t dim) {
  attnkern_strides s;
  s.batch = (int64_t)(heads * seq * dim);
  s.head = (int64_t)dim;
  s.seq = (int64_t)(heads * dim);
  return s;
}

ATTNKERN_API attnkern_status attnkern_attention(const attnkern_attention_args* args);

/* ---------------------------------------------------------------------------------------------
 * A paged K/V cache in attnkern's layout, in memory the engine owns (the engine allocates it, keeps
 * the block tables, shares and frees blocks; attnkern only reads and writes the elements).
 *
 * A layer's cache is two pools of num_blocks blocks, one for K and one for V. A block holds
 * block_tokens consecutive positions of one sequence, for all kv_heads heads: head by head, the
 * positions' rows one after the other (each head's rows one contiguous run, which the kernels read
 * as it lies: no transpose, no gather). Row of (block b, head g, position t), t < block_tokens:
 *   K: (char*)k_blocks + b * k_block_bytes + (g * block_tokens + t) * attnkern_kv_row_bytes(k_dtype, head_dim)
 *   V: (char*)v_blocks + b * v_block_bytes + (g * block_tokens + t) * attnkern_kv_row_bytes(v_dtype, value_dim)
 * A row is head_dim (value_dim) elements of k_dtype (v_dtype): F32, F16 or BF16 (quantized types will
 * define their own row bytes). Position p of sequence s lies in block block_tables[s][p /
 * block_tokens] at t = p % block_tokens; its slot (vLLM's slot_mapping) is that block times
 * block_tokens plus t. Sequences grow by getting new blocks in their table: nothing is copied; two
 * sequences may list the same blocks (a shared prefix); which blocks are free is the engine's
 * business: attnkern never reads a block no table entry in use names.
 * block_tokens is a multiple of 64 (the kernels' block of keys: a block of the cache is then one or
 * more of theirs). k_block_bytes 0 means attnkern_kv_block_bytes(k_dtype, kv_heads, block_tokens,
 * head_dim) (blocks packed); a larger value leaves room between blocks (K and V of a block in one
 * allocation, say); it must be a multiple of the element size, and blocks may not overlap. */
typedef struct attnkern_kv_cache {
  size_t struct_size; /* sizeof(attnkern_kv_cache) */
  size_t num_blocks, block_tokens, kv_heads, head_dim, value_dim;
  int32_t k_dtype, v_dtype; /* attnkern_dtype */
  void* k_blocks;
  size_t k_block_bytes; /* 0: packed */
  void* v_blocks;
  size_t v_block_bytes; /* 0: packed */
} attnkern_kv_cache;

static inline void attnkern_kv_cache_init(attnkern_kv_cache* cache) {
  memset(cache, 0, sizeof *cache);
  cache->struct_size = sizeof(attnkern_kv_cache);
}

/* Bytes of one row of `dim` elements of `dtype` in a cache; 0 for a type the cache does not take. */
ATTNKERN_API size_t attnkern_kv_row_bytes(int32_t dtype, size_t dim);
/* Bytes of one packed block: heads * block_tokens rows; 0 for a type the cache does not take or a
 * size that overflows. */
ATTNKERN_API size_t attnkern_kv_block_bytes(int32_t dtype, size_t heads, size_t block_tokens, size_t dim);

/* Writes new positions' K and V into the cache: token i (i < tokens) into slot slots[i] (block
 * slots[i] / block_tokens, position slots[i] % block_tokens), all kv_heads heads; a negative slot
 * skips the token (padding). k[i, g, c] at k + i * k_token_stride + g * k_head_stride + c, in
 * elements of k_dtype (F32, F16 or BF16: an engine's projections in its own layout); likewise v.
 * Each element is converted to the cache's type, rounded to nearest even where it does not fit
 * (float32 to f16 or bf16, f16 to bf16 and back), overflowing to an infinity of its sign; NaN stays
 * NaN. Errors, with nothing written: a slot at or past num_blocks * block_tokens
 * (ATTNKERN_ERROR_INVALID_ARGUMENT), a slot given twice (ATTNKERN_ERROR_INVALID_ARGUMENT: the
 * result would depend on the order), the cache's own checks as for attnkern_paged_attention, an
 * input overlapping the blocks written (ATTNKERN_ERROR_ALIASING). Runs on the calling thread (it
 * copies: memory speed). */
typedef struct attnkern_kv_append_args {
  size_t struct_size; /* sizeof(attnkern_kv_append_args) */
  const attnkern_kv_cache* cache;
  size_t tokens;
  const int64_t* slots; /* [tokens] */
  const void* k;
  int32_t k_dtype;
  int64_t k_token_stride, k_head_stride;
  const void* v;
  int32_t v_dtype;
  int64_t v_token_stride, v_head_stride;
} attnkern_kv_append_args;

static inline void attnkern_kv_append_args_init(attnkern_kv_append_args* args) {
  memset(args, 0, sizeof *args);
  args->struct_size = sizeof(attnkern_kv_append_args);
}

ATTNKERN_API attnkern_status attnkern_kv_append(const attnkern_kv_append_args* args);

/* Attention over a paged cache for a mixed batch (continuous batching): num_seqs sequences, each
 * with its own query rows (one for a decode step, a few for speculative decoding, a chunk of a
 * prefill) and its own keys, in one call. Sequence s:
 *  - its query rows are rows [cu_q[s], cu_q[s + 1]) of q (cu_q: num_seqs + 1 entries, cu_q[0] = 0,
 *    nondecreasing: flash-attention's cu_seqlens_q); row r of head h at q + r * q_row_stride + h *
 *    q_head_stride elements; out and lse likewise with their own strides;
 *  - its keys are its positions [0, kv_lens[s]) in the cache, through its block table, row s of
 *    block_tables (block_table_stride entries apart; the first ceil(kv_lens[s] / block_tokens) are
 *    read, each in [0, num_blocks));
 *  - its n = cu_q[s + 1] - cu_q[s] query rows are its last n positions: row i's diagonal key is d =
 *    kv_lens[s] - n + i (attnkern_attention's ATTNKERN_ALIGN_BOTTOM_RIGHT), so the causal mask, the
 *    window and ALiBi work as they do there.
 * Everything else is attnkern_attention's, with the same meaning, the same order of operations and
 * the same accuracy: q_heads a multiple of the cache's kv_heads (GQA, MQA), scale, causal, window,
 * softcap, alibi_slopes, sinks, lse, and a bias or mask per row: bias[r, h, j] at bias + r *
 * bias_row_stride + h * bias_head_stride + j for the sequence's keys j (r its query row in q;
 * every row has room for the longest sequence's keys: the span checked is [rows, q_heads,
 * max kv_lens]); likewise mask. (A row whose diagonal lies before key 0, when kv_lens[s] is below
 * its query rows, sees no key under the causal mask: zeros, as in attnkern_attention.)
 * Guarantees: a row's bits are those of attnkern_attention over a contiguous float32 copy of the
 * same (widened) keys and values with the same modifiers, on the same ISA path; they do not depend on
 * the thread count, the other sequences of the batch, how the blocks are placed, or how a prefill
 * was cut into chunks. Blocks and positions past kv_lens[s] are never read.
 * Errors, with nothing written: cu_q not starting at 0 or decreasing, a negative kv_lens[s]
 * (ATTNKERN_ERROR_INVALID_LENGTH); more blocks needed than block_table_stride, a block index outside
 * [0, num_blocks), a cache whose fields are out of range (ATTNKERN_ERROR_INVALID_ARGUMENT); and
 * attnkern_attention's errors for the rest (null pointers, sizes, strides, overlaps). */
typedef struct attnkern_paged_attention_args {
  size_t struct_size; /* sizeof(attnkern_paged_attention_args) */
  const attnkern_kv_cache* cache;
  size_t num_seqs, q_heads;
  const int32_t* cu_q;         /* [num_seqs + 1] */
  const int32_t* kv_lens;      /* [num_seqs] */
  const int32_t* block_tables; /* [num_seqs, block_table_stride] */
  size_t block_table_stride;
  const void* q;
  int32_t q_dtype;
  int64_t q_row_stride, q_head_stride;
  void* out;
  int32_t out_dtype;
  int64_t out_row_stride, out_head_stride;
  float* lse; /* or NULL */
  int64_t lse_row_stride, lse_head_stride;
  float scale;   /* finite; 0 means 1 / sqrt(head_dim) */
  int32_t causal;
  int32_t window;
  int64_t window_left, window_right;
  float softcap;
  const float* alibi_slopes; /* [q_heads] or NULL */
  const float* sinks;        /* [q_heads] or NULL */
  const void* bias;          /* or NULL */
  int32_t bias_dtype;
  int64_t bias_row_stride, bias_head_stride;
  const float* bias_head_scales; /* [q_heads] or NULL */
  const uint8_t* mask;           /* or NULL */
  int64_t mask_row_stride, mask_head_stride;
} attnkern_paged_attention_args;

static inline void attnkern_paged_attention_args_init(attnkern_paged_attention_args* args) {
  memset(args, 0, sizeof *args);
  args->struct_size = sizeof(attnkern_paged_attention_args);
}

ATTNKERN_API attnkern_status attnkern_paged_attention(const attnkern_paged_attention_args* args);

/* Merges two partial results of the same rows over disjoint sets of keys (split-K, cascade or
 * prefix-cache attention, ring attention): with M = max(lse_a, lse_b), w_a = e^(lse_a - M), w_b =
 * e^(lse_b - M),
 *   out = (w_a out_a + w_b out_b) / (w_a + w_b),   lse = M + log(w_a + w_b),
 * in double, per row; rows whose lse are both -inf (no key on either side) give zeros and -inf; a NaN
 * lse makes the row NaN. Deterministic, and exact where one side is empty. out may equal out_a (and
 * lse lse_a) with the same strides, in place; no other overlap. Rows are [batch, heads, rows]; out
 * tensors [.., value_dim], lse tensors one float per row. Accuracy: the merged row is within the
 * larger of the two parts' errors, plus merge_max_error times the largest |out| of the parts and
 * lse_a's and lse_b's own errors (docs/numerics.md). */
typedef struct attnkern_merge_args {
  size_t struct_size; /* sizeof(attnkern_merge_args) */
  size_t batch, heads, rows, value_dim;
  const float* out_a;
  attnkern_strides out_a_strides;
  const float* lse_a;
  attnkern_strides lse_a_strides;
  const float* out_b;
  attnkern_strides out_b_strides;
  const float* lse_b;
  attnkern_strides lse_b_strides;
  float* out;
  attnkern_strides out_strides;
  float* lse; /* or NULL */
  attnkern_strides lse_strides;
} attnkern_merge_args;

ATTNKERN_API attnkern_status attnkern_attention_merge(const attnkern_merge_args* args);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ATTNKERN_ATTNKERN_H */
