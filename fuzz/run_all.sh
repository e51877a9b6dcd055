#!/usr/bin/env bash
# Fuzz every target in turn, one process at a time, and account for the time spent.
#
#   bash fuzz/run_all.sh [SECONDS_PER_TARGET [CYCLES [TARGET...]]]   (defaults: 1440, 1, all)
#
# Each target runs in libFuzzer's fork mode with one worker (-fork=1), so a crash, timeout or
# out-of-memory is saved to fuzz/artifacts/<target>/ and fuzzing goes on. The log of each run
# goes to $LOG_DIR/<target>-<UTC start time>.log and one line per run is appended to
# $LOG_DIR/hours.txt: target, seconds run, executions, crashes/timeouts/ooms found.
# LOG_DIR defaults to /tmp/fuzz-log; FUZZ_TARGET_DIR (cargo --target-dir) to fuzz/target.
# For a long unattended run: nohup nice -n 19 bash fuzz/run_all.sh > /tmp/fuzz-log/all.log 2>&1 &
set -uo pipefail
cd "$(dirname "$0")/.."
per=${1:-1440}
cycles=${2:-1}
shift 2 2>/dev/null || shift $#
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(model_toml csv_table npy fit_json run_dir)
log=${LOG_DIR:-/tmp/fuzz-log}
tdir=${FUZZ_TARGET_DIR:-$PWD/fuzz/target}
mkdir -p "$log"
[ -f "$log/hours.txt" ] || echo "# target seconds execs crashes timeouts ooms finished" > "$log/hours.txt"

cargo +nightly fuzz build -s none --target-dir "$tdir" || exit 1
for ((c = 1; c <= cycles; c++)); do
  for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    extra=()
    [ -f "fuzz/$t.dict" ] && extra+=("-dict=fuzz/$t.dict")
    out="$log/$t-$(date -u +%Y%m%dT%H%M%SZ).log"
    start=$(date +%s)
    echo "$(date -u +%FT%TZ) cycle $c: $t for ${per}s"
    cargo +nightly fuzz run -s none --target-dir "$tdir" "$t" -- \
      -max_total_time="$per" -timeout=60 -rss_limit_mb=4096 \
      -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
      "${extra[@]}" > "$out" 2>&1
    wall=$(($(date +%s) - start))
    # fork mode's progress lines: "#EXECS: cov: ... oom/timeout/crash: O/T/C time: SECSs ..."
    last=$(grep -a '^#[0-9]*: cov:' "$out" | tail -n 1)
    execs=$(sed -n 's/^#\([0-9]*\):.*/\1/p' <<< "$last")
    # seconds fuzzed (the wall clock also counts a rebuild before the run)
    secs=$(sed -n 's/^INFO: exiting: [0-9]* time: \([0-9]*\)s.*/\1/p' "$out" | tail -n 1)
    secs=${secs:-$wall}
    read -r ooms timeouts crashes < <(sed -n 's|.*oom/timeout/crash: \([0-9]*\)/\([0-9]*\)/\([0-9]*\).*|\1 \2 \3|p' <<< "$last")
    echo "$t $secs ${execs:-0} ${crashes:-0} ${timeouts:-0} ${ooms:-0} $(date -u +%FT%TZ)" >> "$log/hours.txt"
    echo "  $t: ${secs}s, ${execs:-0} execs, crash/timeout/oom ${crashes:-0}/${timeouts:-0}/${ooms:-0}"
  done
done
awk '!/^#/ {s[$1] += $2; e[$1] += $3; c[$1] += $4; tot += $2}
     END {for (t in s) printf "%-11s %6.2f h %12d execs %3d crashes\n", t, s[t] / 3600, e[t], c[t];
          printf "total       %6.2f h\n", tot / 3600}' "$log/hours.txt"
