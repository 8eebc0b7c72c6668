#!/usr/bin/env bash
# Runs each fuzzer of Fuzz/ for $1 seconds (default 60) from its committed seed corpus; what it
# finds new is kept in Fuzz/.build/corpus, a crash, hang or leak in Fuzz/.build/crashes (and
# the run fails). Prints executions per second and the total run clean.
#
# The config fuzzer runs in libFuzzer's fork mode and goes on past crashes: toml++ (inside
# TOMLKit) aborts on some malformed files, which tend contains by parsing in a child
# (Sources/tend/ConfigFile.swift). Each crash is replayed: a toml++ assertion is counted as
# contained; any other crash fails the run.
set -uo pipefail
seconds=${1:-60}
cd "$(dirname "$0")/../Fuzz"
for harness in FuzzConfig FuzzControl FuzzNotify; do
  # Only the harnesses: tend's own executable does not build with -parse-as-library.
  swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld \
    --product "$harness" >.build-fuzz.log 2>&1 || { grep -v "Cannot export local symbol" .build-fuzz.log; exit 1; }
done
export LSAN_OPTIONS=suppressions=lsan.supp:print_suppressions=0 SWIFT_BACKTRACE=enable=no
status=0
for name in config control notify; do
  bin=".build/debug/Fuzz${name^}"
  work=".build/corpus/$name"
  mkdir -p "$work" .build/crashes
  log=".build/fuzz-$name.log"
  options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=".build/crashes/$name-")
  # TOMLKit leaks a little on every parse (lsan.supp): the heap the leak check walks grows
  # with every run and slows the config fuzzer 100-fold, so that one runs without it.
  [ "$name" = config ] && options+=(-detect_leaks=0 -fork=1 -ignore_crashes=1)
  before=$(ls .build/crashes | grep -c "^$name-")
  "$bin" "${options[@]}" "$work" "Corpus/$name" >"$log" 2>&1
  code=$?
  if [ "$name" = config ]; then
    last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1)
    runs=$(echo "$last" | sed -E 's/^#([0-9]+):.*/\1/')
    rate=$(echo "$last" | sed -E 's/.*exec\/s: ([0-9]+).*/\1/')
    contained=0 other=0
    for crash in $(ls .build/crashes | grep "^config-crash-" | tail -n +$((before + 1))); do
      replay=$("$bin" -detect_leaks=0 ".build/crashes/$crash" 2>&1)
      if grep -q "toml.hpp.*Assertion" <<<"$replay"; then
        contained=$((contained + 1))
      else
        other=$((other + 1))
        echo "fuzz config: .build/crashes/$crash is not a toml++ assertion"
      fi
    done
    if [ $other -eq 0 ]; then code=0; fi
    extra="; toml++ aborted on $contained new inputs (contained: tend parses in a child)"
  else
    runs=$(grep -m1 '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    rate=$(grep -m1 '^stat::average_exec_per_sec' "$log" | awk '{print $2}')
    extra=""
  fi
  if [ $code -eq 0 ]; then
    echo "fuzz $name: ${runs:-?} executions in ${seconds}s (${rate:-?}/s), clean${extra}; corpus $(ls "$work" | wc -l) inputs"
  else
    status=1
    echo "fuzz $name: FAILED (exit $code) after ${runs:-?} executions; see Fuzz/$log and Fuzz/.build/crashes/"
    grep -E '^==[0-9]+==ERROR|^SUMMARY|Fatal error|deadly signal|timeout' "$log" | head -5
  fi
done
exit $status
