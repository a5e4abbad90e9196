#!/usr/bin/env bash
# The one-definition-rule guard of the per-ISA code (kernels/simd/isa_namespace.hpp): every weak symbol
# that a per-ISA object file (isa_<isa>.cpp, generated from kernels/isa/table.cpp.in and compiled with
# that ISA's flags) defines must lie in that ISA's own inline namespace (isa_<isa>::), but its table
# (table_for<Arch>) and xsimd's own. Anything else (a plain inline helper or a template instance emitted there too)
# could be picked by the linker for every caller, baseline code included, and run AVX-512
# instructions on a CPU without them.
# Usage: check_isa_symbols.sh OBJECT...   (the attnkern_kernels objects; non-ISA ones are skipped)
set -euo pipefail
status=0
checked=0
for object in "$@"; do
  name=$(basename "$object")
  case "$name" in
    isa_*.cpp.o) isa=${name%.cpp.o}; isa=${isa#isa_} ;;  # (generated from kernels/isa/isas.def)
    *) continue ;;
  esac
  checked=$((checked + 1))
  # weak (W, V) defined symbols, demangled; the C++ runtime's personality reference is the compiler's
  # (xsimd's own functions, named by their mangled prefix, are allowed: its templates carry the
  # architecture in their name, and its few plain ones, NEON's vreinterpretq wrappers, are the same
  # code in every aarch64 unit)
  bad=$(nm --defined-only "$object" | awk '$2 == "W" || $2 == "V" { print $3 }' |
        grep -v "^DW.ref.__gxx_personality_v0$" | grep -v "^_ZNK\?5xsimd" | c++filt |
        grep -v "isa_${isa}::" | grep -v "^attnkern::kernels::kernel_table attnkern::kernels::table_for<" || true)
  if [ -n "$bad" ]; then
    echo "check_isa_symbols: $name defines weak symbols outside isa_${isa}:: other than its table_for (kernels/simd/isa_namespace.hpp):" >&2
    echo "$bad" >&2
    status=1
  fi
done
[ "$checked" -gt 0 ] || { echo "check_isa_symbols: no per-ISA object among the arguments" >&2; exit 2; }
[ $status -eq 0 ] && echo "check_isa_symbols: $checked per-ISA objects, every weak symbol in its ISA's namespace"
exit $status
