"""What the Python tests share: the paths ctest passes in the environment, and MNIST images
read the way latentkit-sample reads `PATH:INDEX` (byte / 255 in float32)."""

import os
import struct
import subprocess

import numpy as np


def env_path(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError("the test needs the environment variable %s (ctest sets it)" % name)
    return value


def mnist_test_images(indices):
    """(n, 28, 28, 1) float32 test images, as the tool converts them."""
    path = os.path.join(env_path("LATENTKIT_MNIST_DIR"), "t10k-images-idx3-ubyte")
    with open(path, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 0x00000803, "%s is not an IDX image file" % path
        pixels = np.frombuffer(f.read(), np.uint8).reshape(count, rows, cols, 1)
    return pixels[list(indices)].astype(np.float32) / np.float32(255.0)


def run_tool(*args):
    """latentkit-sample with `args`; its stdout, or an AssertionError with its stderr."""
    command = [env_path("LATENTKIT_SAMPLE")] + [str(a) for a in args]
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s" % (" ".join(command), result.returncode, result.stderr))
    return result.stdout


def read_raw(path, shape):
    return np.fromfile(path, dtype="<f4").reshape(shape)
