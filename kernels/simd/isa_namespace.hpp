// The one-definition-rule guard of the per-ISA code. Each per-ISA translation unit (isa_<isa>.cpp,
// generated from kernels/isa/table.cpp.in) is compiled with its own ISA's flags; a plain `inline`
// function that it and a baseline file both emit would be one weak symbol, and the linker may keep
// the AVX-512 copy for every caller (xsimd #633: a crash on older CPUs). So:
//   - every helper the per-ISA code uses is a template on the xsimd architecture (the kernel bodies,
//     kernels/simd/), or
//   - a plain inline function shared with baseline code lives in ATTNKERN_ISA_NAMESPACE, an inline
//     namespace named after the translation unit's ISA (isa_<isa>.cpp defines it before any include;
//     baseline files get `baseline`), so that each ISA's copy has a name of its own.
// Types (structs, constants) carry no code and need neither. tests/check_isa_symbols.sh checks the
// compiled objects: every weak symbol of a per-ISA object names an xsimd architecture or its ISA's
// namespace.
#pragma once

#ifndef ATTNKERN_ISA_NAMESPACE
#define ATTNKERN_ISA_NAMESPACE baseline
#endif
