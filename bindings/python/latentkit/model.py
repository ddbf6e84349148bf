"""latentkit.Model: a model file loaded by the runtime, its methods run on numpy arrays."""

import collections
import ctypes
import math
import os
import threading

import numpy as np

from . import _library
from .errors import InvalidArgumentError, error_for

_lib = _library.load()
_float_p = ctypes.POINTER(ctypes.c_float)
_INT_MAX = 2**31 - 1

LatentGroup = collections.namedtuple("LatentGroup", "name kind size count offset labels components",
                                     defaults=(0,))
LatentGroup.__doc__ = """One group of a latent vector: `kind` "gaussian" (`size` dimensions) or
"categorical" (`count` one-hot variables of `size` categories each, `labels` naming the
categories, or () when the file names none), starting at float `offset`. `components` is the
number of components of a Gaussian group's mixture prior, 0 when it is sampled from N(0, I)."""

Posterior = collections.namedtuple("Posterior", "mean log_variance")
Posterior.__doc__ = """What `encode` gives: a VAE's posterior mean and log-variance per image, or
a plain autoencoder's code as `mean` with `log_variance` None."""

_ROLE_NAMES = {0: "latent", 1: "image", 2: "latent_mean", 3: "latent_log_variance"}


def _check(status):
    if status != 0:
        message = _lib.latentkit_last_error().decode("utf-8", "replace")
        raise error_for(status, message)


def _text(value):
    return value.decode("utf-8", "replace") if value else ""


def _integer(value, name, lo, hi):
    """`value` as an int in lo..hi, or InvalidArgumentError naming it (ctypes would wrap it)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgumentError(1, "%s must be an integer, got %r" % (name, value))
    value = int(value)
    if not lo <= value <= hi:
        raise InvalidArgumentError(1, "%s must be %d..%d, got %d" % (name, lo, hi, value))
    return value


def _pointer(array):
    return array.ctypes.data_as(_float_p)


class Model:
    """A latentkit model file (.lkm), verified and ready to run.

    Model(source, backend="default", threads=1, max_memory=0)
      source      a path, or the file's bytes (copied)
      backend     "xnnpack", "reference" or "default" (XNNPACK when the library has it)
      threads     XNNPACK worker threads (0 and 1: the calling thread)
      max_memory  the most bytes the model may need at any batch size (0: the runtime's default)

    Images are float32 arrays shaped (..., height, width, channels) in the model's value range
    ([0, 1], or [-1, 1] when value_range is "symmetric"); latents are (..., latent_dims). A model
    serialises its own calls (a lock), so sharing one between Python threads is safe but not
    parallel: give each thread its own model for that.
    """

    def __init__(self, source, backend="default", threads=1, max_memory=0):
        options = _library.Options()
        kind = ctypes.c_int()
        _check(_lib.latentkit_backend_from_name(str(backend).encode(), ctypes.byref(kind)))
        options.backend = kind.value
        options.threads = _integer(threads, "threads", 0, 256)
        options.max_memory_bytes = _integer(max_memory, "max_memory", 0, 2**64 - 1)
        handle = ctypes.c_void_p()
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            if not data:
                raise InvalidArgumentError(1, "the model's bytes are empty")
            _check(_lib.latentkit_load_memory(data, len(data), ctypes.byref(options), ctypes.byref(handle)))
        else:
            _check(_lib.latentkit_load_file(os.fsencode(source), ctypes.byref(options), ctypes.byref(handle)))
        self._handle = handle
        self._lock = threading.Lock()
        self._describe()

    # ---- lifetime -------------------------------------------------------------------------
    def close(self):
        """Releases the model and its backends; further calls raise ValueError."""
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            _lib.latentkit_free(handle)

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _model(self):
        if not self._handle:
            raise ValueError("latentkit: the model is closed")
        return self._handle

    # ---- what the model is ----------------------------------------------------------------
    def _describe(self):
        handle = self._model()
        info = _library.Info()
        _check(_lib.latentkit_model_info(handle, ctypes.byref(info)))
        self.latent_dims = info.latent_dims
        self.image_shape = (info.image_height, info.image_width, info.image_channels)
        self.value_range = "symmetric" if info.value_range == 1 else "unit"
        self.format_version = info.format_version
        self.file_size = info.file_size
        self.backend = _text(_lib.latentkit_backend_name(info.backend))
        self.threads = info.threads
        self.family = _text(info.model_family)
        self.dataset = _text(info.dataset)
        self.epochs = info.epochs
        metrics = {}
        for i in range(info.metric_count):
            name, value = ctypes.c_char_p(), ctypes.c_double()
            _check(_lib.latentkit_model_metric(handle, i, ctypes.byref(name), ctypes.byref(value)))
            metrics[_text(name.value)] = value.value
        self.metrics = metrics
        count = ctypes.c_int()
        _check(_lib.latentkit_method_count(handle, ctypes.byref(count)))
        names = []
        for i in range(count.value):
            name = ctypes.c_char_p()
            _check(_lib.latentkit_method_name(handle, i, ctypes.byref(name)))
            names.append(_text(name.value))
        self.methods = tuple(names)
        self._signatures = {name: self._signature(name) for name in names}
        _check(_lib.latentkit_latent_group_count(handle, ctypes.byref(count)))
        groups = []
        for g in range(count.value):
            group = _library.LatentGroupInfo()
            _check(_lib.latentkit_latent_group_info(handle, g, ctypes.byref(group)))
            labels = []
            for k in range(group.label_count):
                label = ctypes.c_char_p()
                _check(_lib.latentkit_latent_group_label(handle, g, k, ctypes.byref(label)))
                labels.append(_text(label.value))
            components = ctypes.c_int()
            _check(_lib.latentkit_latent_group_components(handle, g, ctypes.byref(components)))
            groups.append(LatentGroup(_text(group.name), "categorical" if group.kind == 1 else "gaussian",
                                      group.size, group.count, group.offset, tuple(labels), components.value))
        self.latent_groups = tuple(groups)

    def _signature(self, method):
        """([(role, item shape)] of the inputs, the same of the outputs) of `method`."""
        handle = self._model()
        name = method.encode()
        inputs, outputs = ctypes.c_int(), ctypes.c_int()
        _check(_lib.latentkit_method_arity(handle, name, ctypes.byref(inputs), ctypes.byref(outputs)))
        signature = []
        for is_output, count in ((0, inputs.value), (1, outputs.value)):
            values = []
            for i in range(count):
                role, floats = ctypes.c_int(), ctypes.c_size_t()
                _check(_lib.latentkit_method_value(handle, name, is_output, i, ctypes.byref(role), ctypes.byref(floats)))
                role_name = _ROLE_NAMES.get(role.value, "values")
                values.append((role_name, self.image_shape if role_name == "image" else (floats.value,)))
            signature.append(values)
        return tuple(signature)

    def info(self):
        """Everything the file says about the model, as a dict."""
        return {
            "methods": {name: {"inputs": [{"role": r, "shape": s} for r, s in ins],
                               "outputs": [{"role": r, "shape": s} for r, s in outs]}
                        for name, (ins, outs) in self._signatures.items()},
            "latent_dims": self.latent_dims,
            "latent_groups": [group._asdict() for group in self.latent_groups],
            "image_shape": self.image_shape,
            "value_range": self.value_range,
            "family": self.family,
            "dataset": self.dataset,
            "epochs": self.epochs,
            "metrics": dict(self.metrics),
            "format_version": self.format_version,
            "file_size": self.file_size,
            "backend": self.backend,
            "threads": self.threads,
        }

    def has_method(self, name):
        return name in self.methods

    def __repr__(self):
        return "latentkit.Model(%s, %s on %s, methods %s)" % (
            self.family or "unknown family", "latent %d" % self.latent_dims, self.backend, ", ".join(self.methods))

    # ---- latents --------------------------------------------------------------------------
    def sample_latents(self, n, seed=0, **groups):
        """n latents from the prior drawn from `seed` (the same on every platform, bit for bit),
        with categorical groups set by name: `digit="7"`, `colour=2`, or a sequence of labels or
        indices for a group of several variables."""
        n = _integer(n, "n", 1, _INT_MAX)
        seed = _integer(seed, "seed", 0, 2**64 - 1)
        z = np.empty((n, self.latent_dims), np.float32)
        with self._lock:
            _check(_lib.latentkit_sample(self._model(), n, seed, _pointer(z), z.size))
            for name, value in groups.items():
                self._set_group(z, name, value)
        return z

    def set_category(self, latents, **groups):
        """Sets categorical groups (as sample_latents takes them) in `latents` in place: a
        C-contiguous float32 array shaped (..., latent_dims). Returns it."""
        if not (isinstance(latents, np.ndarray) and latents.dtype == np.float32 and latents.flags.c_contiguous
                and latents.ndim >= 1 and latents.shape[-1] == self.latent_dims and latents.size > 0):
            raise InvalidArgumentError(1, "set_category changes latents in place: pass a C-contiguous float32 array "
                                       "shaped (..., %d)" % self.latent_dims)
        with self._lock:
            for name, value in groups.items():
                self._set_group(latents, name, value)
        return latents

    def _group_index(self, name):
        """The group called `name`, found by the runtime (its message when there is none)."""
        index = ctypes.c_int()
        _check(_lib.latentkit_find_latent_group(self._model(), str(name).encode(), ctypes.byref(index)))
        return index.value

    def _set_group(self, z, name, value):
        index = self._group_index(name)
        group = self.latent_groups[index]
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if group.kind == "categorical" and len(values) != group.count:
            raise InvalidArgumentError(1, "latent group '%s' has %d variable(s): give %d categories, got %d"
                                       % (name, group.count, group.count, len(values)))
        for variable, category in enumerate(values):
            if isinstance(category, str):
                # A label or a decimal index, resolved as latentkit-sample's --set resolves it.
                found = ctypes.c_int()
                _check(_lib.latentkit_find_category(self._model(), index, category.encode(), ctypes.byref(found)))
                category = found.value
            category = _integer(category, "category of '%s'" % name, 0, _INT_MAX)
            n = z.size // self.latent_dims
            _check(_lib.latentkit_set_category(self._model(), index, variable, category, _pointer(z), z.size, n))

    def grid_latents(self, rows, cols, x_range=None, y_range=None, **groups):
        """rows x cols latents over the first two dimensions (z1 along X, z2 along Y from the
        top), as latentkit-sample's grid: ranges (lo, hi), default the 5 % and 95 % quantiles
        of N(0, 1); y_range defaults to x_range; categorical groups set by name as in
        sample_latents (else on their first category)."""
        rows = _integer(rows, "rows", 1, 1024)
        cols = _integer(cols, "cols", 1, 1024)
        x = (0.0, 0.0) if x_range is None else tuple(float(v) for v in x_range)
        y = x if y_range is None else tuple(float(v) for v in y_range)
        if len(x) != 2 or len(y) != 2:
            raise InvalidArgumentError(1, "a range is (lo, hi), got x %r, y %r" % (x_range, y_range))
        z = np.empty((rows * cols, self.latent_dims), np.float32)
        with self._lock:
            _check(_lib.latentkit_grid(self._model(), rows, cols, x[0], x[1], y[0], y[1], _pointer(z), z.size))
            for name, value in groups.items():
                self._set_group(z, name, value)
        return z

    def category_grid_latents(self, group, cols, x_range=None, **groups):
        """One row per category of categorical group `group` (its name), `cols` columns along
        the first dimension, as `latentkit-sample grid --sweep GROUP`; other categorical
        groups set by name as in sample_latents."""
        index = self._group_index(group)
        cols = _integer(cols, "cols", 1, 1024)
        x = (0.0, 0.0) if x_range is None else tuple(float(v) for v in x_range)
        if len(x) != 2:
            raise InvalidArgumentError(1, "a range is (lo, hi), got %r" % (x_range,))
        if group in groups:
            raise InvalidArgumentError(1, "'%s' is swept: a swept group takes every category" % group)
        rows = self.latent_groups[index].size
        z = np.empty((rows * cols, self.latent_dims), np.float32)
        with self._lock:
            _check(_lib.latentkit_category_grid(self._model(), index, cols, x[0], x[1], _pointer(z), z.size))
            for name, value in groups.items():
                self._set_group(z, name, value)
        return z

    # ---- methods --------------------------------------------------------------------------
    def sample(self, n, seed=0, **groups):
        """n images decoded from prior samples (see sample_latents): (n, height, width, channels)."""
        return self.decode(self.sample_latents(n, seed, **groups))

    def grid(self, rows, cols, x_range=None, y_range=None, **groups):
        """The rows x cols latent grid decoded, row-major: (rows * cols, height, width, channels)."""
        return self.decode(self.grid_latents(rows, cols, x_range, y_range, **groups))

    def category_grid(self, group, cols, x_range=None, **groups):
        """The category grid decoded: (categories * cols, height, width, channels)."""
        return self.decode(self.category_grid_latents(group, cols, x_range, **groups))

    def decode(self, latents):
        """Images of latents (..., latent_dims): (..., height, width, channels)."""
        return self.run("decode", latents)[0]

    def encode(self, images):
        """The codes of images (..., height, width, channels) as a Posterior(mean, log_variance)."""
        outputs = self.run("encode", images)
        return Posterior(outputs[0], outputs[1] if len(outputs) > 1 else None)

    def reconstruct(self, images):
        """decode(encode(images).mean): images in, images out."""
        return self.run("reconstruct", images)[0]

    def translate(self, images):
        """An image-to-image model's output for each image (a colour transfer)."""
        return self.run("translate", images)[0]

    def prepare(self, batch):
        """Builds the decoder's backend for `batch` now rather than at the first decode."""
        batch = _integer(batch, "batch", 1, _INT_MAX)
        with self._lock:
            _check(_lib.latentkit_prepare(self._model(), batch))

    def run(self, method, *inputs):
        """Runs any method by name on numpy arrays; returns its outputs as a list."""
        signature = self._signatures.get(method)
        if signature is None:
            raise InvalidArgumentError(1, "the model has no method '%s' (its methods: %s)"
                                       % (method, ", ".join(self.methods)))
        wanted, given = signature
        if len(inputs) != len(wanted):
            raise InvalidArgumentError(1, "%s takes %d input(s), got %d" % (method, len(wanted), len(inputs)))
        arrays, leading = [], None
        for (role, shape), value in zip(wanted, inputs):
            array = self._array(value, shape, role)
            batch_shape = array.shape[:array.ndim - len(shape)]
            if leading is not None and batch_shape != leading:
                raise InvalidArgumentError(1, "%s's inputs have different batch shapes: %s and %s"
                                           % (method, leading, batch_shape))
            leading = batch_shape
            arrays.append(array)
        batch = math.prod(leading)
        if batch < 1:
            raise InvalidArgumentError(1, "%s needs at least one item, got an empty batch" % method)
        _integer(batch, "batch", 1, _INT_MAX)
        outputs = [np.empty((batch,) + shape, np.float32) for _, shape in given]
        # Addresses as plain integers: numpy's data_as() costs microseconds per array, which
        # show at batch 1.
        in_pointers = (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])
        in_counts = (ctypes.c_size_t * len(arrays))(*[a.size for a in arrays])
        out_pointers = (ctypes.c_void_p * len(outputs))(*[o.ctypes.data for o in outputs])
        out_counts = (ctypes.c_size_t * len(outputs))(*[o.size for o in outputs])
        with self._lock:
            _check(_lib.latentkit_run(self._model(), method.encode(), batch, in_pointers, in_counts, len(arrays),
                                      out_pointers, out_counts, len(outputs)))
        return [o.reshape(leading + o.shape[1:]) for o in outputs]

    def _array(self, value, item_shape, what):
        """`value` as a C-contiguous float32 array whose last dimensions are `item_shape` (a
        one-channel image may leave out its channel axis)."""
        array = np.asarray(value)
        if array.dtype.kind not in "fiu" and array.dtype != np.bool_:
            raise InvalidArgumentError(1, "%s must be numbers, got dtype %s" % (what, array.dtype))
        if array.dtype.kind in "iu" and what == "image":
            raise InvalidArgumentError(1, "images must be floats in the model's value range (%s), got dtype %s: "
                                       "convert 8-bit pixels with x / 255" % (self.value_range, array.dtype))
        array = np.ascontiguousarray(array, dtype=np.float32)
        n = len(item_shape)
        if array.shape[array.ndim - n:] == tuple(item_shape) and array.ndim >= n:
            return array
        if what == "image" and item_shape[-1] == 1 and array.ndim >= 2 and array.shape[-2:] == tuple(item_shape[:2]):
            return array.reshape(array.shape + (1,))
        raise InvalidArgumentError(1, "%s must be shaped (..., %s), got %s"
                                   % (what, ", ".join(str(d) for d in item_shape), array.shape))
