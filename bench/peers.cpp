// Peers built with baseline flags: std::tanh, the scalar reference, oneDNN's eltwise tanh; and the
// list of all peers.
#include "peers.hpp"

#include <attnkern/reference.hpp>

#include <cmath>
#include <map>
#include <memory>

#if defined(ATTNKERN_BENCH_DNNL)
#include <dnnl.hpp>
#endif

namespace attnkern_bench {
namespace {

void std_tanh(const float* x, float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

void reference_tanh(const float* x, float* y, std::size_t n) { attnkern::reference::tanh(x, y, n); }

#if defined(ATTNKERN_BENCH_DNNL)
// oneDNN's eltwise tanh primitive, created once per size and reused (creation is not timed).
void dnnl_tanh(const float* x, float* y, std::size_t n) {
  struct cached {
    dnnl::engine engine{dnnl::engine::kind::cpu, 0};
    dnnl::stream stream{engine};
    std::map<std::size_t, std::pair<dnnl::memory::desc, dnnl::eltwise_forward>> by_size;
  };
  static cached c;
  auto it = c.by_size.find(n);
  if (it == c.by_size.end()) {
    dnnl::memory::desc md({static_cast<dnnl::memory::dim>(n)}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a);
    dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_tanh, md, 0.f, 0.f);
    dnnl::eltwise_forward::primitive_desc pd(d, c.engine);
    it = c.by_size.emplace(n, std::make_pair(md, dnnl::eltwise_forward(pd))).first;
  }
  dnnl::memory src(it->second.first, c.engine, const_cast<float*>(x));
  dnnl::memory dst(it->second.first, c.engine, y);
  it->second.second.execute(c.stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
  c.stream.wait();
}
#endif

}  // namespace

std::vector<peer> tanh_peers() {
  std::vector<peer> peers = avx2_tanh_peers();
#if defined(ATTNKERN_BENCH_DNNL)
  peers.push_back({"onednn", "oneDNN", "eltwise_tanh primitive (JIT)", &dnnl_tanh, false, true});
#endif
  peers.push_back({"std_tanh", "std::tanh", "glibc tanhf, scalar loop", &std_tanh, false, false});
  peers.push_back({"reference", "attnkern reference", "tanh in double, rounded once", &reference_tanh, false, false});
  return peers;
}

}  // namespace attnkern_bench
