#!/usr/bin/env python3
"""latentkit-sample's `sample` command written with the Python module (bindings/python).

tools/cross/qemu_compare.sh runs it under qemu with the target's python3 and numpy exactly where
it runs the cross-built program, and compares the same raw outputs with the host's: so the
module, its liblatentkit.so and the bundle's libraries are checked on the device's
architecture, not only on the host.

    python_sample.py [--backend B] [--threads N] [--save-latents F] [--save-images F]
                     MODEL sample -n N --seed S -o PICTURE.png
"""

import argparse
import math
import sys

import numpy as np

import latentkit as lk


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="default")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--save-latents")
    parser.add_argument("--save-images")
    parser.add_argument("model")
    parser.add_argument("command", choices=["sample"])
    parser.add_argument("-n", "--count", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", default="samples.png")
    args = parser.parse_args()
    try:
        model = lk.Model(args.model, backend=args.backend, threads=args.threads)
        # As the program: exactly --count samples, the picture's last row ending in black tiles.
        cols = math.ceil(math.sqrt(args.count))
        rows = (args.count + cols - 1) // cols
        latents = model.sample_latents(args.count, seed=args.seed)
        images = model.decode(latents)
        if args.save_latents:
            latents.astype("<f4").tofile(args.save_latents)
        if args.save_images:
            images.astype("<f4").tofile(args.save_images)
        lk.write_png(args.output, lk.tile(images, rows, cols, value_range=model.value_range))
    except lk.Error as e:
        print("python_sample.py: %s" % e, file=sys.stderr)
        return 1
    print("wrote %s: %d prior samples, seed %d (%s backend, numpy %s)" % (
        args.output, args.count, args.seed, model.backend, np.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
