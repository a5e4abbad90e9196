/* attnkern: CPU kernels for the attention mechanism. The C API, C99-compatible and stable.
 *
 * Conventions shared by every entry point:
 *  - Arrays are float32, densely packed, any alignment. Sizes are element counts (size_t).
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
 *  - Threads: kernels run on OpenMP threads above a work threshold (see attnkern_set_num_threads);
 *    called from inside an enclosing OpenMP parallel region they run on the calling thread only,
 *    unless the caller has allowed nested parallelism (omp_set_max_active_levels or
 *    OMP_MAX_ACTIVE_LEVELS above the current level), as for an inner `omp parallel` of its own.
 */
#ifndef ATTNKERN_ATTNKERN_H
#define ATTNKERN_ATTNKERN_H

#include <stddef.h>
#include <stdint.h>

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
  ATTNKERN_ERROR_OUT_OF_MEMORY = 7     /* the kernel's scratch could not be allocated (nothing written) */
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

/* The number of threads kernels may use: n > 0 sets it, 0 (or a negative n) restores OpenMP's
 * default (omp_get_max_threads() of the calling thread). Process-wide. */
ATTNKERN_API void attnkern_set_num_threads(int n);
/* The number of threads a kernel called now from this thread may use: the number set, or OpenMP's
 * omp_get_max_threads() of this thread; 1 inside an active parallel region when nested
 * parallelism is not allowed one more level (OpenMP's default), and in a build without OpenMP. */
ATTNKERN_API int attnkern_num_threads(void);

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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ATTNKERN_ATTNKERN_H */
