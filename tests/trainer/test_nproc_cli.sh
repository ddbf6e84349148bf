#!/bin/sh
# `latentkit train --nproc 2` end to end (the launcher, which the doctest suite does not run):
#   1. a short 2-rank run succeeds and only rank 0's files are in the run folder;
#   2. Ctrl-C (SIGINT to the launcher) stops both ranks at one step: exit 130, a checkpoint;
#      --resume with --nproc 2 finishes the run;
#   3. --nproc with --rank is refused with a message.
# Usage: test_nproc_cli.sh LATENTKIT_BINARY MNIST_DIR WORK_DIR
set -u
cli=$1 data=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }

"$cli" train ae --nproc 2 --data "$data" --train-limit 600 --test-limit 200 --epochs 2 --out "$work/short" \
  --no-report >"$work/short.log" 2>&1 || { cat "$work/short.log"; fail "a 2-rank run failed"; }
grep -q "^trained ae: 2 epochs" "$work/short.log" || fail "no summary from rank 0"
[ "$(ls "$work/short" | tr '\n' ' ')" = "checkpoint.pt metrics.csv " ] || fail "unexpected files: $(ls "$work/short")"

# About 5 s per epoch on 2 cores: the SIGINT after 3 s lands in epoch 1.
"$cli" train ae --nproc 2 --data "$data" --train-limit 12000 --test-limit 200 --epochs 1 --out "$work/stopped" \
  --no-report >"$work/stopped.log" 2>&1 &
launcher=$!
sleep 3
kill -INT $launcher
wait $launcher
status=$?
[ $status -eq 130 ] || { cat "$work/stopped.log"; fail "the interrupted run exited with $status, not 130"; }
grep -q "interrupted in epoch 1" "$work/stopped.log" || { cat "$work/stopped.log"; fail "no checkpoint message"; }
"$cli" train --nproc 2 --out "$work/stopped" --resume >"$work/resumed.log" 2>&1 || { cat "$work/resumed.log"; fail "resume failed"; }
grep -q "^trained ae: 1 epochs" "$work/resumed.log" || fail "the resumed run did not finish"

if "$cli" train ae --nproc 2 --rank 0 --world-size 2 --out "$work/refused" >"$work/refused.log" 2>&1; then
  fail "--nproc with --rank was accepted"
fi
grep -q "drop --rank" "$work/refused.log" || { cat "$work/refused.log"; fail "no message naming --rank"; }
rm -rf "$work"
echo "ok"
