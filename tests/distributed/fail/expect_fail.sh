#!/usr/bin/env bash
# Usage: expect_fail.sh kill|hang DIST_FAIL MPIRUN. Runs dist_fail on 2 ranks and passes when the
# job ends within 60 s with a non-zero exit code and the expected message on stderr.
set -u
mode=$1 prog=$2 mpirun=$3
err=$(mktemp)
start=$(date +%s)
timeout 60 "$mpirun" --allow-run-as-root --oversubscribe --bind-to none -np 2 -x OMP_NUM_THREADS=1 \
  "$prog" "$mode" >/dev/null 2>"$err"
rc=$?
secs=$(( $(date +%s) - start ))
cat "$err" >&2
if [ "$mode" = hang ]; then want='rank 0 of 2: timed out waiting for the gradient allreduce'; else want='exited on signal 9'; fi
fail=0
if [ $rc -eq 0 ]; then echo "FAIL: mpirun exited 0 after rank 1 ${mode}ed" >&2; fail=1; fi
if [ $rc -eq 124 ]; then echo "FAIL: the job was still running after 60 s (it hangs)" >&2; fail=1; fi
if ! grep -q "$want" "$err"; then echo "FAIL: stderr lacks '$want'" >&2; fail=1; fi
rm -f "$err"
echo "distributed $mode: mpirun exit code $rc after ${secs} s" >&2
exit $fail
