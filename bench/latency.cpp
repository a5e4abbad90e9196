// attnkern-latency: the latency of small calls, single calls timed one by one (median, p99, maximum),
// in each threading mode (attnkern_set_threading): the library's own pool (the default), OpenMP, and
// one thread; each on a quiet machine and beside three kinds of competition for the cores:
//   - alone;
//   - spinning pool: a thread per core of another pool in the same process, idle and spinning with
//     sched_yield, as OpenBLAS's threads wait between calls;
//   - busy core: one thread in a busy loop, bound to the last core;
//   - other OpenMP process: another process running OpenMP parallel regions on every core, back to
//     back (this program again, with --load-openmp);
//   - own OpenMP regions: this program runs an OpenMP parallel region on every core (about 20 us of
//     work) before each call, as a program whose own code is OpenMP does (untimed; libgomp's threads
//     then spin between its regions and the calls).
// The calls: attention_pool 32 x 60 x 128 (the notebooks' Bi-LSTM batch), softmax 32 x 60, and a
// decode step 32 x 1 x 1024 x 128 (f32 K/V cache).
//
//   attnkern-latency [--calls N] [--competition NAME] [--json FILE]
//
//   --calls N           timed calls per cell (default 1000), after 50 untimed ones
//   --competition NAME  only this competition: alone, spinning, busy, openmp or program (default: all)
//   --json FILE  the table as JSON too (tools/bench_report.py puts it into the report)
// Prints a progress line per cell on stderr and the table on stdout. The work of each call is the
// same in every mode (the bits are, too: tests/test_thread_pool.cpp). A build without OpenMP has no
// OpenMP rows.
#include <attnkern/attnkern.h>

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

unsigned cores() {
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? n : 2;
}

// An OpenMP parallel region on every core, `steps` multiply-adds per thread (200,000: about 200 us;
// 20,000: about 20 us); without OpenMP the same work on the calling thread.
void openmp_region(int steps) {
  static std::vector<double> acc(64 * 16, 1.0);
#if defined(_OPENMP)
#pragma omp parallel
  {
    const std::size_t t = static_cast<std::size_t>(omp_get_thread_num() % 64) * 16;
    double x = acc[t];
    for (int i = 0; i < steps; ++i) x = x * 1.0000001 + 1e-9;
    acc[t] = x;
  }
#else
  double x = acc[0];
  for (int i = 0; i < steps; ++i) x = x * 1.0000001 + 1e-9;
  acc[0] = x;
#endif
}

// --load-openmp: OpenMP parallel regions on every core, back to back, until killed.
[[noreturn]] void openmp_load() {
  for (;;) openmp_region(200000);
}

// A competing load, running from construction to destruction.
class load {
 public:
  enum kind { none, spinning_pool, busy_core, openmp_process, openmp_program };
  static const char* name(kind k) {
    return k == none ? "alone" : k == spinning_pool ? "spinning pool" : k == busy_core ? "busy core"
         : k == openmp_process ? "other OpenMP process" : "own OpenMP regions";
  }
  // own OpenMP regions: the program's own work between the calls (time_calls runs it).
  load(kind k, const char* self) {
    if (k == spinning_pool) {
      for (unsigned t = 0; t < cores(); ++t)
        threads_.emplace_back([this] {
          while (!stop_.load(std::memory_order_relaxed)) sched_yield();
        });
    } else if (k == busy_core) {
      threads_.emplace_back([this] {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cores() - 1, &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
        volatile unsigned long spin = 0;
        while (!stop_.load(std::memory_order_relaxed)) spin = spin + 1;
      });
    } else if (k == openmp_process) {
      child_ = fork();
      if (child_ == 0) {
        execl(self, self, "--load-openmp", static_cast<char*>(nullptr));
        _exit(127);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // its threads started
    }
  }
  ~load() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    if (child_ > 0) {
      kill(child_, SIGKILL);
      waitpid(child_, nullptr, 0);
    }
  }
  load(const load&) = delete;
  load& operator=(const load&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  pid_t child_ = -1;
};

struct stats {
  double median, p99, max;  // microseconds
};

stats time_calls(const std::function<void()>& call, int calls, bool openmp_between) {
  for (int i = 0; i < 50; ++i) call();
  std::vector<double> us(static_cast<std::size_t>(calls));
  for (auto& t : us) {
    if (openmp_between) openmp_region(20000);  // the program's own OpenMP code, untimed
    const auto t0 = std::chrono::steady_clock::now();
    call();
    t = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  }
  std::sort(us.begin(), us.end());
  const auto at = [&](double q) { return us[std::min(us.size() - 1, static_cast<std::size_t>(q * static_cast<double>(us.size())))]; };
  return {at(0.5), at(0.99), us.back()};
}

struct call_case {
  std::string name;
  std::function<void()> run;
};

std::vector<call_case> calls() {
  std::vector<call_case> all;
  auto fill = [](std::vector<float>& v, float scale) {
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = scale * std::sin(0.37f * static_cast<float>(i));
  };
  {
    auto h = std::make_shared<std::vector<float>>(32 * 60 * 128), w = std::make_shared<std::vector<float>>(128);
    auto ctx = std::make_shared<std::vector<float>>(32 * 128), wt = std::make_shared<std::vector<float>>(32 * 60);
    fill(*h, 1.0f), fill(*w, 0.1f);
    all.push_back({"attention_pool 32x60x128", [=] {
                     attnkern_attention_pool_f32(h->data(), w->data(), nullptr, nullptr, 32, 60, 128, ctx->data(), wt->data());
                   }});
  }
  {
    auto x = std::make_shared<std::vector<float>>(32 * 60), y = std::make_shared<std::vector<float>>(32 * 60);
    fill(*x, 5.0f);
    all.push_back({"softmax 32x60", [=] { attnkern_softmax_f32(x->data(), y->data(), 32, 60); }});
  }
  {
    const std::size_t H = 32, kv = 1024, d = 128;
    auto q = std::make_shared<std::vector<float>>(H * d), k = std::make_shared<std::vector<float>>(H * kv * d);
    auto v = std::make_shared<std::vector<float>>(H * kv * d), out = std::make_shared<std::vector<float>>(H * d);
    fill(*q, 1.0f), fill(*k, 1.0f), fill(*v, 1.0f);
    all.push_back({"decode 32x1x1024x128", [=] {
                     attnkern_sdpa_f32(q->data(), k->data(), v->data(), nullptr, H, 1, kv, d, d, 0.088f, 0, out->data());
                   }});
  }
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  int calls_per_cell = 1000;
  const char* json = nullptr;
  const char* only = nullptr;
  const char* competitions[] = {"alone", "spinning", "busy", "openmp", "program"};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--load-openmp")) openmp_load();
    if (!std::strcmp(argv[i], "--calls") && i + 1 < argc) {
      calls_per_cell = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--competition") && i + 1 < argc) {
      only = argv[++i];
      if (std::find_if(std::begin(competitions), std::end(competitions), [&](const char* c) { return !std::strcmp(c, only); }) ==
          std::end(competitions)) {
        std::fprintf(stderr, "attnkern-latency: --competition is alone, spinning, busy, openmp or program, not \"%s\"\n", only);
        return 2;
      }
    } else if (!std::strcmp(argv[i], "--json") && i + 1 < argc) {
      json = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--calls N] [--competition alone|spinning|busy|openmp|program] [--json FILE]\n", argv[0]);
      return !std::strcmp(argv[i], "--help") ? 0 : 2;
    }
  }
  if (calls_per_cell < 100) {
    std::fprintf(stderr, "attnkern-latency: --calls must be at least 100 (a p99 needs them)\n");
    return 2;
  }
  const auto all = calls();
  struct mode {
    const char* name;
    const char* threading;
    int threads;
  };
  std::vector<mode> modes = {{"pool (default)", "pool", 0}, {"OpenMP", "openmp", 0}, {"one thread", "pool", 1}};
  if (attnkern_set_threading("openmp") != ATTNKERN_OK) modes.erase(modes.begin() + 1);
  std::vector<load::kind> loads;
  for (int k = 0; k < 5; ++k)
    if (!only || !std::strcmp(only, competitions[k])) loads.push_back(static_cast<load::kind>(k));
  struct row {
    std::string load, mode, call;
    stats s;
  };
  std::vector<row> rows;
  const int cells = static_cast<int>(loads.size() * modes.size() * all.size());
  int cell = 0;
  for (load::kind k : loads) {
    const load competition(k, argv[0]);
    for (const mode& m : modes) {
      attnkern_set_threading(m.threading);
      attnkern_set_num_threads(m.threads);
      for (const auto& c : all) {
        std::fprintf(stderr, "latency: [%d/%d] %s, %s, %s\n", ++cell, cells, load::name(k), m.name, c.name.c_str());
        rows.push_back({load::name(k), m.name, c.name, time_calls(c.run, calls_per_cell, k == load::openmp_program)});
      }
    }
  }
  attnkern_set_threading(nullptr);
  attnkern_set_num_threads(0);

  std::printf("| competition | threads | call | median | p99 | max | p99 / median |\n|---|---|---|---|---|---|---|\n");
  for (const row& r : rows)
    std::printf("| %s | %s | %s | %.1f us | %.1f us | %.1f us | %.1f |\n", r.load.c_str(), r.mode.c_str(), r.call.c_str(),
                r.s.median, r.s.p99, r.s.max, r.s.p99 / r.s.median);
  if (json) {
    FILE* f = std::fopen(json, "w");
    if (!f) {
      std::fprintf(stderr, "attnkern-latency: cannot write %s\n", json);
      return 1;
    }
    std::fprintf(f, "{\n  \"threads\": %u, \"calls\": %d,\n  \"rows\": [\n", cores(), calls_per_cell);
    for (std::size_t i = 0; i < rows.size(); ++i)
      std::fprintf(f, "    {\"competition\": \"%s\", \"threads\": \"%s\", \"call\": \"%s\", \"median_us\": %.3f, \"p99_us\": %.3f, \"max_us\": %.3f}%s\n",
                   rows[i].load.c_str(), rows[i].mode.c_str(), rows[i].call.c_str(), rows[i].s.median, rows[i].s.p99,
                   rows[i].s.max, i + 1 < rows.size() ? "," : "");
    std::fprintf(f, "  ]\n}\n");
    std::fclose(f);
  }
  return 0;
}
