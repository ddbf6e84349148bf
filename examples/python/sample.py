#!/usr/bin/env python3
"""A latentkit model from Python: its 5 x 5 latent grid and 16 samples, written as PNG files.

    python3 sample.py MODEL.lkm [--set GROUP=LABEL ...] [--backend reference] [--threads 4]

--set chooses a category of a categorical latent group for the samples ("draw a red 7" is
--set digit=7 --set colour=red on a model with such groups); without it, the samples come from
the prior. Needs numpy and the latentkit module (cmake --install, or the device bundle's python/
folder on PYTHONPATH); Pillow is not needed.
"""

import argparse
import sys

import latentkit as lk


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--set", action="append", default=[], metavar="GROUP=LABEL",
                        help="a category for a categorical latent group (label or index)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backend", default="default")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=".", help="folder for grid.png and samples.png")
    args = parser.parse_args()

    groups = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error("--set takes GROUP=LABEL, got %r" % item)
        groups[name] = int(value) if value.isdigit() else value

    try:
        model = lk.Model(args.model, backend=args.backend, threads=args.threads)
        print(model)
        for group in model.latent_groups:
            labels = " (%s)" % ", ".join(group.labels) if group.labels else ""
            print("  latent group %r: %s, %d x %d%s" % (group.name, group.kind, group.count, group.size, labels))
        if model.has_method("decode"):
            gaussian = model.latent_groups[0]
            if gaussian.kind == "gaussian" and gaussian.size >= 2:
                lk.write_png(args.out + "/grid.png", lk.tile(model.grid(5, 5), 5, 5, value_range=model.value_range))
                print("wrote %s/grid.png: the 5 x 5 grid over z1 (x) and z2 (y)" % args.out)
            samples = model.sample(16, seed=args.seed, **groups)
            lk.write_png(args.out + "/samples.png", lk.tile(samples, 4, 4, value_range=model.value_range))
            print("wrote %s/samples.png: 16 samples, seed %d%s" % (
                args.out, args.seed, "".join(", %s=%s" % kv for kv in groups.items())))
        else:
            print("the model has no decode method (methods: %s): nothing to sample" % ", ".join(model.methods))
    except lk.Error as e:
        print("sample.py: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
