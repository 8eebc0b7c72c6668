#!/usr/bin/env bash
# Runs each fuzzer of Fuzz/ for $1 seconds (default 60) from its committed seed corpus; what it
# finds new is kept in Fuzz/.build/corpus, a crash, hang or leak in Fuzz/.build/crashes (and
# the run fails). Prints executions per second and the total run clean.
set -uo pipefail
seconds=${1:-60}
cd "$(dirname "$0")/../Fuzz"
for harness in FuzzConfig FuzzControl FuzzNotify; do
  # Only the harnesses: tend's own executable does not build with -parse-as-library.
  swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld \
    --product "$harness" >.build-fuzz.log 2>&1 || { grep -v "Cannot export local symbol" .build-fuzz.log; exit 1; }
done
export SWIFT_BACKTRACE=enable=no
status=0
for name in config control notify; do
  bin=".build/debug/Fuzz${name^}"
  work=".build/corpus/$name"
  mkdir -p "$work" .build/crashes
  log=".build/fuzz-$name.log"
  options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=".build/crashes/$name-")
  [ -f "Dictionaries/$name.dict" ] && options+=(-dict="Dictionaries/$name.dict")
  "$bin" "${options[@]}" "$work" "Corpus/$name" >"$log" 2>&1
  code=$?
  runs=$(grep -m1 '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  rate=$(grep -m1 '^stat::average_exec_per_sec' "$log" | awk '{print $2}')
  if [ $code -eq 0 ]; then
    echo "fuzz $name: ${runs:-?} executions in ${seconds}s (${rate:-?}/s), clean; corpus $(ls "$work" | wc -l) inputs"
  else
    status=1
    echo "fuzz $name: FAILED (exit $code) after ${runs:-?} executions; see Fuzz/$log and Fuzz/.build/crashes/"
    grep -E '^==[0-9]+==ERROR|^SUMMARY|Fatal error|deadly signal|timeout' "$log" | head -5
  fi
done
exit $status
