// Runtime ISA dispatch: which of the compiled per-ISA tables this CPU can run, the best of them,
// the ATTNKERN_ISA override at load and attnkern_set_isa later. Compiled with baseline flags only.
#include "runtime/dispatch.hpp"

#include <xsimd/xsimd.hpp>

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace attnkern {
namespace kernels {
namespace {

struct isa_entry {
  const char* name;
  bool usable;  // compiled into this build, and supported by the CPU and the OS
  kernel_table table;
};

#if defined(__x86_64__) || defined(__i386__)
// xsimd 8.1 reads CPUID only; the OS must also save the wider registers on context switches
// (OSXSAVE, then XCR0: bits 1-2 for the SSE/AVX state, 5-7 for the AVX-512 state).
unsigned long long os_saved_state() noexcept {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27))) return 0;
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}
#endif

// What this CPU and its OS can run: a flag per ISA path of kernels/isa/isas.def, by its name.
struct cpu_features {
#define ATTNKERN_ISA(name, family, arch, flags) bool name = false;
#include "isa/isas.def"
#undef ATTNKERN_ISA
};

cpu_features detect_cpu() noexcept {
  const auto cpu = xsimd::available_architectures();
  cpu_features f;
  (void)cpu;
#if defined(__x86_64__) || defined(__i386__)
  const unsigned long long xcr0 = os_saved_state();
  const bool os_avx = (xcr0 & 0x6) == 0x6;
  const bool os_avx512 = os_avx && (xcr0 & 0xE0) == 0xE0;
  f.sse2 = cpu.sse2;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29));  // (that TU uses vcvtph2ps)
  f.avx2 = cpu.fma3_avx2 && os_avx && f16c;
  // that TU is also built with -mavx2 -mfma, and -mavx512bw (the decode shape's vpermw on f16 keys;
  // every AVX-512 CPU but the Xeon Phi has AVX-512BW)
  f.avx512 = f.avx2 && cpu.avx512f && cpu.avx512bw && os_avx512;
#elif defined(__aarch64__)
  f.neon = cpu.neon64;
#endif
  return f;
}

// Every path name any build knows, whether or not this one has it.
constexpr const char* known_names[] = {
#define ATTNKERN_ISA(name, family, arch, flags) #name,
#include "isa/isas.def"
#undef ATTNKERN_ISA
    "scalar"};

// The bytes of every known name, each followed by `separator` (the buffers below are sized by it).
constexpr std::size_t names_length(const char* separator) noexcept {
  std::size_t n = 0, sep = 0;
  while (separator[sep]) ++sep;
  for (const char* name : known_names) {
    while (*name++) ++n;
    n += sep;
  }
  return n + 1;
}

// Best first; the scalar reference last, always usable.
struct registry {
  isa_entry entries[sizeof known_names / sizeof known_names[0]];
  int count = 0;
  std::atomic<const isa_entry*> active{nullptr};
  char usable_names[names_length(", ")] = "";  // "avx512 avx2 sse2 scalar": the usable entries, best first
  char env_ignored[64] = "";  // ATTNKERN_ISA's value when it was ignored (not a usable path), truncated
  // isa_refusal's answer for an unknown name: the prefix, then every known name
  static constexpr char unknown_prefix[] = "it is not the name of a path (names are lower-case: ";
  char unknown_name[sizeof unknown_prefix + names_length(", ") + sizeof "auto)"] = "";

  registry() noexcept {
    const cpu_features cpu = detect_cpu();
    // (ATTNKERN_HAVE_ISA_<name>: 1 for the paths CMakeLists.txt compiled, 0 for the others)
#define ATTNKERN_ISA(name, family, arch, flags) add_if<ATTNKERN_HAVE_ISA_##name, arch>(#name, cpu.name);
#include "isa/isas.def"
#undef ATTNKERN_ISA
    add("scalar", true, scalar_table());
    std::strcpy(unknown_name, unknown_prefix);
    for (const char* known : known_names) {
      std::strcat(unknown_name, known);
      std::strcat(unknown_name, ", ");
    }
    std::strcat(unknown_name, "auto)");
    for (int i = 0; i < count; ++i) {
      if (!entries[i].usable) continue;
      if (usable_names[0]) std::strcat(usable_names, " ");
      std::strcat(usable_names, entries[i].name);
    }
    // ATTNKERN_ISA, read once, at the library's first call: an unusable value is ignored (the best
    // path is taken) and kept, for attnkern_isa_env_status.
    const char* requested = std::getenv("ATTNKERN_ISA");
    const isa_entry* chosen = requested && *requested ? find(requested) : nullptr;
    if (requested && *requested && !chosen) {
      std::strncpy(env_ignored, requested, sizeof env_ignored - 1);
      if (std::strlen(requested) >= sizeof env_ignored) std::strcpy(env_ignored + sizeof env_ignored - 4, "...");
    }
    active.store(chosen ? chosen : best(), std::memory_order_release);
  }

  template <bool Compiled, class Arch>
  void add_if(const char* name, bool usable) noexcept {
    if constexpr (Compiled) add(name, usable, table_for<Arch>());
  }

  void add(const char* name, bool usable, kernel_table table) noexcept {
    entries[count++] = isa_entry{name, usable, table};
  }

  const isa_entry* best() const noexcept {
    for (int i = 0; i < count; ++i)
      if (entries[i].usable) return &entries[i];
    return &entries[count - 1];
  }

  // The usable entry called `name`; "auto" is the best one.
  const isa_entry* find(const char* name) const noexcept {
    if (std::strcmp(name, "auto") == 0) return best();
    for (int i = 0; i < count; ++i)
      if (entries[i].usable && std::strcmp(entries[i].name, name) == 0) return &entries[i];
    return nullptr;
  }
};

registry& the_registry() noexcept {
  static registry r;  // initialised on first use, thread-safe
  return r;
}

}  // namespace

const kernel_table& active_table() noexcept {
  return the_registry().active.load(std::memory_order_acquire)->table;
}

const char* active_isa() noexcept { return the_registry().active.load(std::memory_order_acquire)->name; }

attnkern_status select_isa(const char* name) noexcept {
  registry& r = the_registry();
  const isa_entry* chosen = name ? r.find(name) : r.best();
  if (!chosen) return ATTNKERN_ERROR_UNSUPPORTED_ISA;
  r.active.store(chosen, std::memory_order_release);
  return ATTNKERN_OK;
}

const char* usable_isas() noexcept { return the_registry().usable_names; }

const char* isa_env_ignored() noexcept {
  const registry& r = the_registry();
  return r.env_ignored[0] ? r.env_ignored : nullptr;
}

const char* isa_refusal(const char* name) noexcept {
  if (!name) return nullptr;
  const registry& r = the_registry();
  if (r.find(name)) return nullptr;
  for (int i = 0; i < r.count; ++i)
    if (std::strcmp(r.entries[i].name, name) == 0) return "this CPU (or its operating system) does not support it";
  for (const char* known : known_names)
    if (std::strcmp(known, name) == 0) return "this build of attnkern does not contain it (it is for another processor family)";
  return r.unknown_name;
}

const kernel_table* usable_table(const char* name) noexcept {
  const isa_entry* entry = name ? the_registry().find(name) : nullptr;
  return entry ? &entry->table : nullptr;
}

}  // namespace kernels
}  // namespace attnkern
