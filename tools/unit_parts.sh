# The unit tests (attnkern-tests) in two parts of about the same time, run side by side, one per
# core: the tools/test.sh sanitizer stages and tools/test_aarch64.sh's qemu stage. Sourced.
#   unit_parts: the two Catch2 filters (every test case is in exactly one; hidden [.] ones in none)
#   unit_in_parts LOG COMMAND...: runs COMMAND FILTER --durations yes for each part in the
#     background, output in LOG.0 and LOG.1, then LOG; prints the summaries; on a failure, the
#     failing parts' last lines, and returns 1.
# (Native, 2026-12-08: the first part 57 s of the 100, the second 43 s.)
unit_parts=("[softmax],[memory],[merge]" "~[.]~[softmax]~[memory]~[merge]")
unit_in_parts() {
  local log=$1 i failed=0 pids=()
  shift
  for i in 0 1; do
    "$@" "${unit_parts[$i]}" --durations yes >"$log.$i" 2>&1 &
    pids+=($!)
  done
  for i in 0 1; do wait "${pids[$i]}" || failed=1; done
  cat "$log".0 "$log".1 >"$log"
  if [ $failed = 1 ]; then
    for i in 0 1; do grep -v "^[0-9.]* s: " "$log.$i" | tail -60 >&2; done
    return 1
  fi
  grep -E "^(All tests passed|test cases:)" "$log" || true
}
