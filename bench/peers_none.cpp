// Off x86 there are no AVX2 peers.
#include "peers.hpp"

namespace attnkern_bench {
std::vector<peer> avx2_tanh_peers() { return {}; }
}  // namespace attnkern_bench
