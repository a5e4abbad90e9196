/* A C99 program using the installed attnkern (tests/install/run.sh builds it every way). */
#include <attnkern/attnkern.h>

#include <math.h>
#include <stdio.h>

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
  printf("C consumer: attnkern %s on %s, tanh(0.5) = %.7f\n", attnkern_version(), attnkern_isa(), y[3]);
  return 0;
}
