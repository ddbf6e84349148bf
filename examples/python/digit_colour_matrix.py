#!/usr/bin/env python3
"""Every digit in every colour a model offers: one row per digit label, one column per colour label,
each cell a sample with both categories set ("draw a red 7") and the rest of the latent from the
prior; the same prior draw in every cell of a column block.

    python3 digit_colour_matrix.py MODEL.lkm OUT.png [--samples 2] [--seed 0]

The model needs categorical latent groups named "digit" and "colour" (latentkit train joint-vae;
see README "Seed 004"). Labels such as "7-2" (a second category drawing a 7) and "unused-3" are
left out.
"""

import argparse
import sys

import numpy as np

import latentkit as lk


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("out")
    parser.add_argument("--samples", type=int, default=2, help="samples per digit and colour, side by side")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        model = lk.Model(args.model)
        groups = {group.name: group for group in model.latent_groups}
        missing = [name for name in ("digit", "colour") if name not in groups]
        if missing:
            raise lk.Error("%s has no latent group %s (its groups: %s)"
                           % (args.model, " or ".join(missing), ", ".join(groups)))

        def primary(labels):
            return [label for label in labels if "-" not in label]

        digits = sorted(primary(groups["digit"].labels), key=lambda label: (len(label), label))
        colours = primary(groups["colour"].labels)
        rows = []
        for digit in digits:
            row = [model.sample(args.samples, seed=args.seed, digit=digit, colour=colour) for colour in colours]
            rows.append(np.concatenate(row))
        images = np.concatenate(rows)
        lk.write_png(args.out, lk.tile(images, rows=len(digits), cols=len(colours) * args.samples, gap=1))
        print("wrote %s: digits %s (rows) x colours %s (columns, %d samples each)"
              % (args.out, " ".join(digits), " ".join(colours), args.samples))
    except lk.Error as error:
        print("digit_colour_matrix.py: %s" % error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
