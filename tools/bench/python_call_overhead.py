#!/usr/bin/env python3
"""What calling latentkit from Python costs per decode, against the C++ tool's own bench.

    python3 tools/bench/python_call_overhead.py MODEL.lkm --sample build/default/tools/latentkit-sample
        [--batch 1] [--calls 3000] [--rounds 5] [--backend xnnpack]

Each round, interleaved so that the machine's drift hits all three alike:
  tool     latentkit-sample --backend B MODEL bench --batch N --runs CALLS --json: its median
  module   latentkit.Model.decode(z) in this process: the median of CALLS calls
  ctypes   the C API's latentkit_decode through ctypes with its arguments prepared once: the
           floor of any ctypes binding (the module's own library, `latentkit.model._lib`)
Prints each round and the medians over rounds, and the module's overhead per call.
"""

import argparse
import ctypes
import json
import statistics
import subprocess
import sys
import time

import latentkit as lk
from latentkit import model as module_internals


def median_of_calls(call, calls):
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--sample", required=True, help="the latentkit-sample program")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", default="xnnpack")
    args = parser.parse_args()

    model = lk.Model(args.model, backend=args.backend)
    z = model.sample_latents(args.batch, seed=7)
    images = model.decode(z)  # builds the backend for this batch
    lib = module_internals._lib
    handle = model._model()
    z_pointer = z.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    images_pointer = images.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    lib.latentkit_decode.restype = ctypes.c_int
    lib.latentkit_decode.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t, ctypes.c_int,
                                     ctypes.POINTER(ctypes.c_float), ctypes.c_size_t]

    def raw_decode():
        if lib.latentkit_decode(handle, z_pointer, z.size, args.batch, images_pointer, images.size) != 0:
            raise RuntimeError(lib.latentkit_last_error().decode())

    rows = []
    print("%s, %s backend, batch %d, %d calls per measurement (microseconds per decode)"
          % (args.model, model.backend, args.batch, args.calls))
    print("round  tool(C++)  module  ctypes-floor")
    for r in range(args.rounds):
        out = subprocess.run([args.sample, "--backend", args.backend, args.model, "bench", "--batch", str(args.batch),
                              "--runs", str(args.calls), "--json"], check=True, stdout=subprocess.PIPE, text=True).stdout
        tool = json.loads(out)["batches"][0]["median_ms"] * 1000.0
        module = median_of_calls(lambda: model.decode(z), args.calls)
        floor = median_of_calls(raw_decode, args.calls)
        rows.append((tool, module, floor))
        print("%5d  %9.1f  %6.1f  %12.1f" % (r + 1, tool, module, floor))
    tool, module, floor = (statistics.median(column) for column in zip(*rows))
    print("median %8.1f  %6.1f  %12.1f" % (tool, module, floor))
    print("module overhead per call: %.1f us over the tool (%.2fx its time); ctypes floor %.1f us"
          % (module - tool, module / tool, floor - tool))
    return 0


if __name__ == "__main__":
    sys.exit(main())
