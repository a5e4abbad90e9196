// The one-definition-rule guard of the per-ISA code, one folder rule. Each per-ISA translation unit
// (isa_<isa>.cpp, generated from kernels/isa/table.cpp.in) is compiled with its own ISA's flags; a
// plain `inline` function (or a template instance) that it and another unit both emit would be one
// weak symbol, and the linker may keep the AVX-512 copy for every caller (xsimd #633: a crash on
// older CPUs). So every function under kernels/isa/ and kernels/simd/, templates included, lives in
// ATTNKERN_ISA_NAMESPACE: an inline namespace named after the unit's ISA (isa_<isa>.cpp defines it
// before any include; baseline files, the drivers and scalar.cpp, get `baseline`), so that each
// unit's copy has a name of its own. Only types and constants are declared outside it: they carry no
// code, and the types of the table's entries must be the same in every unit. The one function
// outside is the table itself, table_for<Arch> (kernels/isa/table.hpp), one instance per ISA.
// tests/check_isa_symbols.sh checks the compiled objects: every weak symbol of a per-ISA object is
// in its ISA's namespace, or is its table_for.
#pragma once

#ifndef ATTNKERN_ISA_NAMESPACE
#define ATTNKERN_ISA_NAMESPACE baseline
#endif
