// The C API's conventions: version, status messages, ISA selection, thread control, argument checks
// (nothing written on error), and the C++ wrapper's exceptions.
#include <attnkern/attnkern.hpp>

#include "support.hpp"
#include "../tools/ulp.hpp"

#include <sched.h>

#include <cstdlib>
#include <cstring>
#include <limits>

#if defined(_OPENMP)
#include <omp.h>
#endif

using namespace attnkern_test;

TEST_CASE("api: version is MAJOR.MINOR.PATCH", "[api]") {
  const std::string v = attnkern_version();
  int major = -1, minor = -1, patch = -1;
  CHECK(std::sscanf(v.c_str(), "%d.%d.%d", &major, &minor, &patch) == 3);
  CHECK(major >= 0);
  CHECK(attnkern::version() == v);
}

namespace {

// A status none of the enumerators has, as a C caller may pass one (in C an enum is an int). C++
// cannot make one by a conversion: the values of attnkern_status are those of its enumerators' bit
// range, 0 to 7, and static_cast<attnkern_status>(8) is undefined (GCC's -Wconversion warns). So the
// bits of the integer are copied into one, which is what a C caller's int amounts to.
attnkern_status unknown_status(int value) {
  attnkern_status status;
  static_assert(sizeof status == sizeof value, "attnkern_status is int-sized, as in C");
  std::memcpy(&status, &value, sizeof status);
  return status;
}

}  // namespace

TEST_CASE("api: every status has a sentence, unknown ones too", "[api]") {
  const char* unknown = attnkern_status_message(unknown_status(ATTNKERN_ERROR_UNSUPPORTED + 1));
  REQUIRE(unknown != nullptr);
  CHECK(std::string(unknown).find("nknown") != std::string::npos);
  for (int s = ATTNKERN_OK; s <= ATTNKERN_ERROR_UNSUPPORTED; ++s) {
    const char* message = attnkern_status_message(static_cast<attnkern_status>(s));
    REQUIRE(message != nullptr);
    CHECK(std::strlen(message) > 5);
    CHECK(std::string(message) != unknown);
  }
  CHECK(std::string(attnkern_status_message(ATTNKERN_ERROR_OUT_OF_MEMORY)).find("memory") != std::string::npos);
  for (int other : {1000, -1}) CHECK(std::string(attnkern_status_message(unknown_status(other))) == unknown);
}

TEST_CASE("api: ISA selection", "[api][isa]") {
  const std::string best = attnkern_isa();
  const auto isas = available_isas();
  REQUIRE(!isas.empty());
  CHECK(best == isas.front());  // the best available path is the default (unless ATTNKERN_ISA says otherwise)

  for (const auto& isa : isas) {
    REQUIRE(attnkern_set_isa(isa.c_str()) == ATTNKERN_OK);
    CHECK(attnkern_isa() == isa);
  }
  REQUIRE(attnkern_set_isa("scalar") == ATTNKERN_OK);
  CHECK(attnkern_set_isa("no-such-isa") == ATTNKERN_ERROR_UNSUPPORTED_ISA);
  CHECK(attnkern_set_isa("") == ATTNKERN_ERROR_UNSUPPORTED_ISA);
  CHECK(attnkern_set_isa("AVX2") == ATTNKERN_ERROR_UNSUPPORTED_ISA);  // names are lower case
  CHECK(std::string(attnkern_isa()) == "scalar");                      // a refused name changes nothing
  for (const auto& name : all_isa_names()) {
    if (std::find(isas.begin(), isas.end(), name) == isas.end()) {
      CHECK(attnkern_set_isa(name.c_str()) == ATTNKERN_ERROR_UNSUPPORTED_ISA);
    }
  }
  REQUIRE(attnkern_set_isa(nullptr) == ATTNKERN_OK);
  CHECK(attnkern_isa() == isas.front());
  REQUIRE(attnkern_set_isa("scalar") == ATTNKERN_OK);
  REQUIRE(attnkern_set_isa("auto") == ATTNKERN_OK);
  CHECK(attnkern_isa() == isas.front());

  CHECK_THROWS_AS(attnkern::set_isa("no-such-isa"), attnkern::error);
  try {
    attnkern::set_isa("no-such-isa");
  } catch (const attnkern::error& e) {
    CHECK(e.status() == ATTNKERN_ERROR_UNSUPPORTED_ISA);
    // what() is the failure in full (attnkern.hpp): attnkern_last_error_message(), naming the name
    CHECK(std::string(e.what()) == attnkern_last_error_message());
    CHECK(std::string(e.what()).find("\"no-such-isa\"") != std::string::npos);
  }
}

// Run by ctest with ATTNKERN_ISA set in the environment (tests/CMakeLists.txt).
TEST_CASE("api: ATTNKERN_ISA sets the initial path", "[.env]") {
  const char* requested = std::getenv("ATTNKERN_ISA");
  REQUIRE(requested != nullptr);
  CHECK(std::string(attnkern_isa()) == requested);
}

TEST_CASE("api: an unusable ATTNKERN_ISA is ignored", "[.env-bad]") {
  REQUIRE(std::getenv("ATTNKERN_ISA") != nullptr);
  CHECK(std::string(attnkern_isa()) == available_isas().front());
}

// Run by ctest with ATTNKERN_THREADING set (tests/CMakeLists.txt): a mode that can be set is the
// initial one; any other value is ignored for "pool", and attnkern_threading_env_status says so.
TEST_CASE("api: ATTNKERN_THREADING sets the initial mode", "[.env-threading]") {
  const char* requested = std::getenv("ATTNKERN_THREADING");
  REQUIRE(requested != nullptr);
  CHECK(std::string(attnkern_threading_mode()) == requested);
  CHECK(attnkern_threading_env_status() == ATTNKERN_OK);
}

TEST_CASE("api: an unusable ATTNKERN_THREADING is ignored", "[.env-threading-bad]") {
  const char* requested = std::getenv("ATTNKERN_THREADING");
  REQUIRE(requested != nullptr);
  CHECK(std::string(attnkern_threading_mode()) == "pool");
  CHECK(attnkern_threading_env_status() == ATTNKERN_ERROR_INVALID_ARGUMENT);
  const std::string message = attnkern_last_error_message();
  CHECK(message.find(std::string("ATTNKERN_THREADING=\"") + requested + "\" was ignored") != std::string::npos);
}

namespace {

// What the built-in pool's default thread count must be (attnkern.h): OMP_NUM_THREADS's first value
// when it is a positive number, else the CPUs of the process's affinity mask.
int expected_pool_threads() {
  if (const char* v = std::getenv("OMP_NUM_THREADS")) {
    const int n = std::atoi(v);
    if (n > 0) return n;
  }
  cpu_set_t set;
  REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
  return CPU_COUNT(&set);
}

}  // namespace

TEST_CASE("api: threading modes", "[api][threads]") {
  const char* env = std::getenv("ATTNKERN_THREADING");
  if (!env || !*env) {
    CHECK(std::string(attnkern_threading_mode()) == "pool");  // the default
    CHECK(attnkern_threading_env_status() == ATTNKERN_OK);
  }
  {
    threading_scope pool("pool");
    CHECK(attnkern::threading_mode() == "pool");
    CHECK(attnkern_num_threads() == expected_pool_threads());
    attnkern_set_num_threads(3);
    CHECK(attnkern_num_threads() == 3);
    attnkern_set_num_threads(0);
  }
#if defined(_OPENMP)
  {
    threading_scope openmp("openmp");
    CHECK(std::string(attnkern_threading_mode()) == "openmp");
    CHECK(attnkern_num_threads() == omp_get_max_threads());
  }
#else
  CHECK(attnkern_set_threading("openmp") == ATTNKERN_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(attnkern_last_error_message()).find("ATTNKERN_OPENMP=OFF") != std::string::npos);
#endif
  // refused names change nothing
  const std::string before = attnkern_threading_mode();
  for (const char* bad : {"external", "OpenMP", "tbb", "", " pool"}) {
    INFO(bad);
    CHECK(attnkern_set_threading(bad) == ATTNKERN_ERROR_INVALID_ARGUMENT);
    CHECK(std::string(attnkern_last_error_message()).rfind(std::string("attnkern_set_threading: mode \"") + bad + "\" cannot be set: ", 0) == 0);
    CHECK(attnkern_threading_mode() == before);
  }
  CHECK_THROWS_AS(attnkern::set_threading("tbb"), attnkern::error);
  // the caller's pool is the "external" mode while it is set; NULL returns to the mode set before
  for (const std::string& mode : threading_modes()) {
    threading_scope scope(mode);
    REQUIRE(attnkern_set_thread_pool([](void*, attnkern_task_fn task, void* context, std::size_t count) {
              for (std::size_t i = 0; i < count; ++i) task(context, i);
            }, nullptr, 7) == ATTNKERN_OK);
    CHECK(std::string(attnkern_threading_mode()) == "external");
    CHECK(attnkern_num_threads() == 7);
    REQUIRE(attnkern_set_thread_pool(nullptr, nullptr, 0) == ATTNKERN_OK);
    CHECK(attnkern_threading_mode() == mode);
  }
  // setting a mode unsets the caller's pool; "auto" and NULL are the initial mode
  REQUIRE(attnkern_set_thread_pool([](void*, attnkern_task_fn, void*, std::size_t) {}, nullptr, 2) == ATTNKERN_OK);
  CHECK(attnkern_set_threading(nullptr) == ATTNKERN_OK);
  const std::string initial = attnkern_threading_mode();
  CHECK(initial != "external");
  CHECK(attnkern_set_threading("pool") == ATTNKERN_OK);
  CHECK(attnkern_set_threading("auto") == ATTNKERN_OK);
  CHECK(attnkern_threading_mode() == initial);
}

TEST_CASE("api: thread control in an OpenMP program", "[api][threads]") {
#if defined(_OPENMP)
  for (const std::string& mode : threading_modes()) {
    threading_scope scope(mode);
    INFO("mode " << mode);
    const int default_threads = mode == "openmp" ? omp_get_max_threads() : expected_pool_threads();
    CHECK(attnkern_num_threads() == default_threads);
    attnkern_set_num_threads(3);
    CHECK(attnkern_num_threads() == 3);
    CHECK(attnkern::num_threads() == 3);
    attnkern_set_num_threads(-2);
    CHECK(attnkern_num_threads() == default_threads);
    attnkern_set_num_threads(5);
    attnkern_set_num_threads(0);
    CHECK(attnkern_num_threads() == default_threads);

    // Inside an enclosing parallel region, kernels run on the calling thread only, unless the caller
    // allows one more level of nesting: then what an inner region of its own would get (OpenMP), or
    // the pool's default.
    REQUIRE(omp_get_max_active_levels() == 1);  // (OpenMP's default)
    int inside = -1, nested = -1, nested_capped = -1, too_deep = -1;
#pragma omp parallel num_threads(2)
    {
#pragma omp single
      inside = attnkern_num_threads();
    }
    CHECK(inside == 1);
    omp_set_max_active_levels(2);
#pragma omp parallel num_threads(2)
    {
#pragma omp single
      {
        omp_set_num_threads(3);
        nested = attnkern_num_threads();
        attnkern_set_num_threads(5);
        nested_capped = attnkern_num_threads();
        attnkern_set_num_threads(0);
#pragma omp parallel num_threads(2)
        {
#pragma omp single
          too_deep = attnkern_num_threads();  // (level 2 of 2)
        }
      }
    }
    omp_set_max_active_levels(1);
    CHECK(nested == (mode == "openmp" ? 3 : default_threads));
    CHECK(nested_capped == 5);
    CHECK(too_deep == 1);
  }
#else
  SUCCEED("built without OpenMP");
#endif
}

TEST_CASE("api: tanh in place, and arrays that touch without overlapping", "[api]") {
  // (the refused cases: tests/test_bad_input.cpp)
  std::vector<float> buffer(64, 0.25f);
  CHECK(attnkern_tanh_f32(buffer.data(), buffer.data() + 32, 32) == ATTNKERN_OK);  // adjacent, not overlapping
  const float once = buffer[32];
  CHECK(attnkern_tanh_f32(buffer.data(), buffer.data(), 64) == ATTNKERN_OK);
  // within the documented bound of the float64 value of each call's own input
  CHECK(attnkern_tools::ulp_error(once, std::tanh(0.25)) <= tanh_max_ulp);
  CHECK(attnkern_tools::ulp_error(buffer[0], std::tanh(0.25)) <= tanh_max_ulp);
  CHECK(attnkern_tools::ulp_error(buffer[40], std::tanh(static_cast<double>(once))) <= tanh_max_ulp);
}
