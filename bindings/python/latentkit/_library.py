"""Finding and declaring the runtime's shared library (the C API of runtime/include/latentkit.h).

ctypes over the C API, not a compiled extension: a Raspberry Pi needs neither a compiler nor
Python headers, the same library serves every Python 3 version, and the C API already checks
every argument and turns every C++ exception into a status and a message.

The library is looked for in this order:
  1. the file named by the environment variable LATENTKIT_LIBRARY;
  2. liblatentkit.so next to this file (the build tree, `cmake --install`, the device bundle).
"""

import ctypes
import os

C_API_VERSION = 5  # the LATENTKIT_C_API_VERSION this module was written against

_LIBRARY_NAME = "liblatentkit.so"


class Options(ctypes.Structure):
    _fields_ = [
        ("backend", ctypes.c_int),
        ("threads", ctypes.c_int),
        ("max_memory_bytes", ctypes.c_uint64),
    ]


class Info(ctypes.Structure):
    _fields_ = [
        ("latent_dims", ctypes.c_int),
        ("image_height", ctypes.c_int),
        ("image_width", ctypes.c_int),
        ("image_channels", ctypes.c_int),
        ("image_pixels", ctypes.c_int),
        ("value_range", ctypes.c_int),
        ("format_version", ctypes.c_uint32),
        ("file_size", ctypes.c_size_t),
        ("backend", ctypes.c_int),
        ("threads", ctypes.c_int),
        ("model_family", ctypes.c_char_p),
        ("dataset", ctypes.c_char_p),
        ("epochs", ctypes.c_int),
        ("metric_count", ctypes.c_int),
    ]


class LatentGroupInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("kind", ctypes.c_int),
        ("size", ctypes.c_int),
        ("count", ctypes.c_int),
        ("offset", ctypes.c_int),
        ("dims", ctypes.c_int),
        ("label_count", ctypes.c_int),
    ]


_status = ctypes.c_int
_model_p = ctypes.c_void_p
_float_p = ctypes.POINTER(ctypes.c_float)
_size = ctypes.c_size_t

# name: (return type, argument types), as declared in latentkit.h.
_PROTOTYPES = {
    "latentkit_status_string": (ctypes.c_char_p, [_status]),
    "latentkit_last_error": (ctypes.c_char_p, []),
    "latentkit_backend_from_name": (_status, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]),
    "latentkit_backend_name": (ctypes.c_char_p, [ctypes.c_int]),
    "latentkit_backend_available": (ctypes.c_int, [ctypes.c_int]),
    "latentkit_load_file": (_status, [ctypes.c_char_p, ctypes.POINTER(Options), ctypes.POINTER(_model_p)]),
    "latentkit_load_memory": (_status, [ctypes.c_void_p, _size, ctypes.POINTER(Options), ctypes.POINTER(_model_p)]),
    "latentkit_free": (None, [_model_p]),
    "latentkit_model_info": (_status, [_model_p, ctypes.POINTER(Info)]),
    "latentkit_model_metric": (_status, [_model_p, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p),
                                         ctypes.POINTER(ctypes.c_double)]),
    "latentkit_sample": (_status, [_model_p, ctypes.c_int, ctypes.c_uint64, _float_p, _size]),
    "latentkit_default_grid_range": (None, [_float_p, _float_p]),
    "latentkit_grid": (_status, [_model_p, ctypes.c_int, ctypes.c_int, ctypes.c_float, ctypes.c_float,
                                 ctypes.c_float, ctypes.c_float, _float_p, _size]),
    "latentkit_category_grid": (_status, [_model_p, ctypes.c_int, ctypes.c_int, ctypes.c_float, ctypes.c_float,
                                          _float_p, _size]),
    "latentkit_latent_group_count": (_status, [_model_p, ctypes.POINTER(ctypes.c_int)]),
    "latentkit_latent_group_info": (_status, [_model_p, ctypes.c_int, ctypes.POINTER(LatentGroupInfo)]),
    "latentkit_latent_group_components": (_status, [_model_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]),
    "latentkit_latent_group_label": (_status, [_model_p, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]),
    "latentkit_find_latent_group": (_status, [_model_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]),
    "latentkit_find_category": (_status, [_model_p, ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]),
    "latentkit_set_category": (_status, [_model_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, _float_p, _size,
                                         ctypes.c_int]),
    "latentkit_prepare": (_status, [_model_p, ctypes.c_int]),
    "latentkit_method_count": (_status, [_model_p, ctypes.POINTER(ctypes.c_int)]),
    "latentkit_method_name": (_status, [_model_p, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]),
    "latentkit_method_arity": (_status, [_model_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int),
                                         ctypes.POINTER(ctypes.c_int)]),
    "latentkit_method_value": (_status, [_model_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                                         ctypes.POINTER(ctypes.c_int), ctypes.POINTER(_size)]),
    # The float* arrays as void* arrays: the module fills them with numpy's addresses.
    "latentkit_run": (_status, [_model_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p),
                                ctypes.POINTER(_size), _size, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(_size),
                                _size]),
}


def library_path():
    """The path of the shared library this module loads."""
    override = os.environ.get("LATENTKIT_LIBRARY")
    if override:
        return override
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), _LIBRARY_NAME)


def load():
    """The runtime's shared library with every function used here declared."""
    path = library_path()
    if not os.path.exists(path):
        raise ImportError(
            "latentkit: the runtime library %s does not exist (build the latentkit_python target, "
            "install with `cmake --install`, or set LATENTKIT_LIBRARY to a liblatentkit.so)" % path)
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError("latentkit: cannot load the runtime library %s: %s" % (path, e)) from e
    # The module's own library says which latentkit.h it was compiled with (a plain
    # liblatentkit.so given through LATENTKIT_LIBRARY has no such function: its functions are
    # checked one by one below).
    if hasattr(lib, "latentkit_python_c_api_version"):
        lib.latentkit_python_c_api_version.restype = ctypes.c_int
        lib.latentkit_python_c_api_version.argtypes = []
        version = lib.latentkit_python_c_api_version()
        if version != C_API_VERSION:
            raise ImportError("latentkit: %s implements C API version %d, this module needs %d (install them together)"
                              % (path, version, C_API_VERSION))
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            function = getattr(lib, name)
        except AttributeError:
            raise ImportError("latentkit: %s has no %s (a runtime older than C API version %d?)"
                              % (path, name, C_API_VERSION)) from None
        function.restype = restype
        function.argtypes = argtypes
    return lib
