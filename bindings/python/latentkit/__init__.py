"""latentkit: run latentkit model files (.lkm) from Python, on a workstation or a Raspberry Pi.

    import latentkit as lk
    m = lk.Model("cvae.lkm")                      # backend="xnnpack"|"reference", threads=N
    images = m.sample(16, seed=7)                 # (16, 28, 28, 1) float32 in [0, 1]
    lk.write_png("samples.png", lk.tile(images))
    grid = m.grid(5, 5)                           # the 5 x 5 latent grid, as latentkit-sample's
    codes = m.encode(images).mean                 # where the model has an encoder
    again = m.reconstruct(images)

The module calls the runtime's C API (latentkit.h) through ctypes: it needs Python 3, numpy and
the liblatentkit.so installed beside it, nothing else. Errors are latentkit.Error (and
subclasses that are also ValueError, OSError, MemoryError) carrying the runtime's message.
"""

from .errors import (BackendError, Error, InternalError, InvalidArgumentError, MalformedModelError,
                     ModelFileError, OutOfMemoryError, UnsupportedModelError)
from .model import LatentGroup, Model, Posterior
from .png import tile, write_png
from ._library import C_API_VERSION, library_path

__all__ = [
    "Model", "LatentGroup", "Posterior", "tile", "write_png", "library_path", "C_API_VERSION",
    "Error", "InvalidArgumentError", "ModelFileError", "MalformedModelError", "UnsupportedModelError",
    "BackendError", "OutOfMemoryError", "InternalError",
]
