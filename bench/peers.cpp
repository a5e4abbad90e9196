// Peers built with baseline flags: std::tanh, the scalar reference, oneDNN's eltwise tanh; and the
// list of all peers.
#include "peers.hpp"

#include <attnkern/reference.hpp>

#include <cmath>

#if defined(ATTNKERN_BENCH_DNNL)
#include "onednn.hpp"
#endif

namespace attnkern_bench {
namespace {

void std_tanh(const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

void reference_tanh(const float* x, float* y, std::size_t n) { attnkern::reference::tanh(x, y, n); }

#if defined(ATTNKERN_BENCH_DNNL)
// oneDNN's eltwise tanh primitive.
void dnnl_tanh(const float* x, float* y, std::size_t n) {
  attnkern_bench::onednn_run(n, [n](const dnnl::engine& engine) {
    dnnl::memory::desc md({static_cast<dnnl::memory::dim>(n)}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
    dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_tanh, md, 0.f, 0.f);
    return std::make_pair(md, dnnl::primitive(dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(d, engine))));
  }, x, y);
}
#endif

}  // namespace

std::vector<peer> tanh_peers() {
  std::vector<peer> peers = avx2_tanh_peers();
#if defined(ATTNKERN_BENCH_DNNL)
  peers.push_back({"onednn", "oneDNN", "eltwise_tanh primitive (JIT)", &dnnl_tanh, false, true});
#endif
  peers.push_back({"std_tanh", "std::tanh", "glibc tanhf, scalar loop", &std_tanh, false, false});
  peers.push_back({"reference", "scalar reference", "tanh in double, rounded once", &reference_tanh, false, false});
  return peers;
}

}  // namespace attnkern_bench
