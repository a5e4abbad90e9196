// Running a oneDNN primitive with one source and one destination array, the primitive created once
// per key (shape, threads, ...) and reused: creation is not timed. Only with ATTNKERN_BENCH_DNNL.
#pragma once

#include <dnnl.hpp>

#include <map>
#include <utility>

namespace attnkern_bench {

// make() returns the (memory descriptor, primitive) pair for `key`; both arrays use the descriptor.
template <class Key, class Make>
void onednn_run(const Key& key, Make make, const float* x, float* y) {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  static dnnl::stream stream(engine);
  static std::map<Key, std::pair<dnnl::memory::desc, dnnl::primitive>> made;
  auto it = made.find(key);
  if (it == made.end()) it = made.emplace(key, make(engine)).first;
  dnnl::memory src(it->second.first, engine, const_cast<float*>(x));
  dnnl::memory dst(it->second.first, engine, y);
  it->second.second.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
  stream.wait();
}

}  // namespace attnkern_bench
