/* A C99 program using the installed attnkern (tests/install/run.sh builds it every way). */
#include <attnkern/attnkern.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  float x[5] = {-2.0f, -0.5f, 0.0f, 0.5f, 2.0f};
  float y[5];
  size_t i;
  attnkern_status status = attnkern_tanh_f32(x, y, 5);
  if (status != ATTNKERN_OK) {
    fprintf(stderr, "attnkern_tanh_f32: %s\n", attnkern_status_message(status));
    return 1;
  }
  for (i = 0; i < 5; ++i) {
    if (fabs((double)y[i] - tanh((double)x[i])) > 1e-7) {
      fprintf(stderr, "tanh(%g) = %g, expected %g\n", x[i], y[i], tanh((double)x[i]));
      return 1;
    }
  }
  if (attnkern_tanh_f32(NULL, y, 5) != ATTNKERN_ERROR_NULL_POINTER) return 1;
  if (strcmp(attnkern_last_error_message(), "attnkern_tanh_f32: x is NULL while it holds 5 floats") != 0) {
    fprintf(stderr, "last error: '%s'\n", attnkern_last_error_message());
    return 1;
  }
  /* the usable paths end with the scalar one; the environment's choice was not refused */
  if (strstr(attnkern_isa_list(), "scalar") == NULL || attnkern_isa_env_status() != ATTNKERN_OK) return 1;
  {
    /* attention pooling over one sequence of 5 steps of 1 feature, the last 2 steps padding:
       weights proportional to e^tanh(x), context their average of x */
    const float w[1] = {1.0f};
    const int32_t lengths[1] = {3};
    float context[1], alpha[5];
    double sum = 0, expected = 0;
    status = attnkern_attention_pool_f32(x, w, NULL, lengths, 1, 5, 1, context, alpha);
    if (status != ATTNKERN_OK) {
      fprintf(stderr, "attnkern_attention_pool_f32: %s\n", attnkern_status_message(status));
      return 1;
    }
    for (i = 0; i < 3; ++i) sum += exp(tanh((double)x[i]));
    for (i = 0; i < 3; ++i) expected += exp(tanh((double)x[i])) / sum * x[i];
    if (fabs(context[0] - expected) > 1e-5 || alpha[3] != 0.0f || alpha[4] != 0.0f) {
      fprintf(stderr, "attention_pool: context %g, expected %g\n", context[0], expected);
      return 1;
    }
  }
  {
    /* sdpa, causal: one query row against two keys sees only the first (q_len 2, kv_len 2, row 0) */
    const float q[2] = {1.0f, 2.0f}, k[2] = {0.5f, -1.0f}, v[2] = {3.0f, 5.0f};
    float out[2];
    double p0, p1;
    status = attnkern_sdpa_f32(q, k, v, NULL, 1, 2, 2, 1, 1, 1.0f, 1, out);
    if (status != ATTNKERN_OK) {
      fprintf(stderr, "attnkern_sdpa_f32: %s\n", attnkern_status_message(status));
      return 1;
    }
    p0 = exp(2.0 * 0.5);
    p1 = exp(2.0 * -1.0);
    if (out[0] != 3.0f || fabs(out[1] - (p0 * 3.0 + p1 * 5.0) / (p0 + p1)) > 1e-5) {
      fprintf(stderr, "sdpa: %g %g\n", out[0], out[1]);
      return 1;
    }
  }
  {
    /* the described call, BSHD with two query heads sharing one K/V head, as docs/embedding.md
       writes it: the same rows as the sdpa call above, with the log-sum-exp */
    const float q[4] = {1.0f, 1.0f, 2.0f, 2.0f}, k[2] = {0.5f, -1.0f}, v[2] = {3.0f, 5.0f};
    float out[4], lse[4];
    attnkern_attention_args a;
    attnkern_attention_args_init(&a);
    a.batch = 1; a.q_heads = 2; a.kv_heads = 1; a.q_len = 2; a.kv_len = 2; a.head_dim = a.value_dim = 1;
    a.q = q; a.q_strides = attnkern_strides_bshd(2, 2, 1);
    a.k = k; a.k_strides = attnkern_strides_bshd(1, 2, 1);
    a.v = v; a.v_strides = attnkern_strides_bshd(1, 2, 1);
    a.out = out; a.out_strides = attnkern_strides_bshd(2, 2, 1);
    a.lse = lse; a.lse_strides = attnkern_strides_bshd(2, 2, 1);
    a.scale = 1.0f; a.causal = 1; a.align = ATTNKERN_ALIGN_BOTTOM_RIGHT;
    status = attnkern_attention(&a);
    if (status != ATTNKERN_OK || out[0] != 3.0f || out[1] != 3.0f || lse[0] != 0.5f ||
        fabs(out[2] - (exp(1.0) * 3.0 + exp(-2.0) * 5.0) / (exp(1.0) + exp(-2.0))) > 1e-5 || out[3] != out[2]) {
      fprintf(stderr, "attnkern_attention: %s; %g %g %g %g\n", attnkern_last_error_message(), out[0], out[1], out[2], out[3]);
      return 1;
    }
  }
  printf("C consumer: attnkern %s on %s (of %s), tanh(0.5) = %.7f\n", attnkern_version(), attnkern_isa(),
         attnkern_isa_list(), y[3]);
  return 0;
}
