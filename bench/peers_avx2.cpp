// Peers that need AVX2 + FMA code: xsimd::tanh, Eigen's array tanh, SLEEF, glibc's libmvec.
// This file is compiled with -mavx2 -mfma (bench/CMakeLists.txt); the others with baseline flags.
#include "peers.hpp"

#include <immintrin.h>
#include <xsimd/xsimd.hpp>

#if defined(ATTNKERN_BENCH_EIGEN)
#include <Eigen/Core>
#define ATTNKERN_STRINGIFY2(x) #x
#define ATTNKERN_STRINGIFY(x) ATTNKERN_STRINGIFY2(x)
#define EIGEN_VERSION_STRING_FOR_BENCH \
  ATTNKERN_STRINGIFY(EIGEN_WORLD_VERSION) "." ATTNKERN_STRINGIFY(EIGEN_MAJOR_VERSION) "." ATTNKERN_STRINGIFY(EIGEN_MINOR_VERSION)
#endif
#if defined(ATTNKERN_BENCH_SLEEF)
#include <sleef.h>
#endif

#if defined(ATTNKERN_BENCH_LIBMVEC)
extern "C" __m256 _ZGVdN8v_tanhf(__m256);  // glibc >= 2.35, libmvec's AVX2 variant
#endif

namespace attnkern_bench {
namespace {

// Runs an 8-wide vector function over an array, the tail through a zero-padded buffer.
template <__m256 (*F)(__m256)>
void over_array_avx2(const float* x, float* y, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, F(_mm256_loadu_ps(x + i)));
  if (i < n) {
    alignas(32) float buffer[8] = {};
    for (std::size_t j = i; j < n; ++j) buffer[j - i] = x[j];
    _mm256_store_ps(buffer, F(_mm256_load_ps(buffer)));
    for (std::size_t j = i; j < n; ++j) y[j] = buffer[j - i];
  }
}

__m256 xsimd_tanh8(__m256 v) {
  return xsimd::tanh(xsimd::batch<float, xsimd::fma3<xsimd::avx2>>(v));
}

#if defined(ATTNKERN_BENCH_SLEEF)
__m256 sleef_u10(__m256 v) { return Sleef_tanhf8_u10avx2(v); }
__m256 sleef_u35(__m256 v) { return Sleef_tanhf8_u35avx2(v); }
#endif

#if defined(ATTNKERN_BENCH_EIGEN)
void eigen_tanh(const float* x, float* y, std::size_t n) {
  const auto size = static_cast<Eigen::Index>(n);
  Eigen::Map<Eigen::ArrayXf>(y, size) = Eigen::Map<const Eigen::ArrayXf>(x, size).tanh();
}
#endif

}  // namespace

std::vector<peer> avx2_tanh_peers() {
  std::vector<peer> peers;
#if defined(ATTNKERN_BENCH_EIGEN)
  peers.push_back({"eigen", "Eigen " EIGEN_VERSION_STRING_FOR_BENCH, "clamp + 13/6 rational, one divide", &eigen_tanh, true, false});
#endif
  peers.push_back({"xsimd", "xsimd::tanh", "polynomial or 1 - 2/(1+e^2x), any/all branches", &over_array_avx2<xsimd_tanh8>, true, false});
#if defined(ATTNKERN_BENCH_SLEEF)
  peers.push_back({"sleef_u10", "SLEEF u10", "double-float exp", &over_array_avx2<sleef_u10>, true, false});
  peers.push_back({"sleef_u35", "SLEEF u35", "expm1(2x)/(expm1(2x)+2)", &over_array_avx2<sleef_u35>, true, false});
#endif
#if defined(ATTNKERN_BENCH_LIBMVEC)
  peers.push_back({"libmvec", "glibc libmvec", "piecewise cubics in double", &over_array_avx2<_ZGVdN8v_tanhf>, true, false});
#endif
  return peers;
}

}  // namespace attnkern_bench
