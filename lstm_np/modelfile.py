"""Reading a model file (``model.npz``) safely: everything is checked before anything is built.

A model file is a zip archive of ``.npy`` entries written by :meth:`lstm_np.Sequential.save`:
``config.npy`` (the model's JSON configuration as a 0-d unicode array), ``extra.npy`` (a JSON
object stored beside it, e.g. the CLI's scaler) and ``weight_000.npy``, ``weight_001.npy``, ...
(the weights in Keras's order). :func:`read_model_file` checks, in this order, and refuses with
one sentence (:class:`ModelFileError`) at the first problem:

1. the path: a regular file no larger than :data:`MAX_FILE_BYTES` (a FIFO or a device is never
   opened for reading, so it cannot block);
2. the zip directory, before any entry is inflated: only the names above, each once, stored or
   deflated (no encryption, no other method), a declared size within the limit of its kind and
   a compression ratio deflate can produce (a "zip bomb" is refused unread);
3. ``config.npy``: a 0-d unicode array of at most :data:`MAX_JSON_CHARS` characters holding a
   JSON object of this format and version, whose layers are known classes with known, well-typed
   arguments, that has at least one layer with weights, whose shapes chain from the input shape
   to the output shape, and whose sizes stay within :data:`MAX_PARAMETERS`,
   :data:`MAX_TIMESTEPS` and :data:`MAX_LAYERS`. From it the exact shape of every weight
   follows;
4. the weight entries: exactly the expected ones, each declared no larger than its array needs;
   each ``.npy`` header parsed without pickle and its dtype a real float of the model's
   precision (no integers, complex numbers, objects or strings) and its shape the expected one;
   the data read to the end, so that the zip's CRC-32 is verified, and every value finite;
5. ``extra.npy``: a JSON object (what it holds is its writer's business: the forecasting
   commands check theirs in :mod:`lstm_np.forecast.metadata`).

Only then is the model built, with its weights taken from the file (no random initialisation
is spent on arrays that are overwritten at once).
"""
import inspect
import json
import math
import os
import re
import stat
import zipfile

import numpy as np

from .layers.schema import MAX_PARAMETERS, MAX_TIMESTEPS, ShapeError, is_int

#: sizes beyond which a file is refused before it is read, besides MAX_PARAMETERS and
#: MAX_TIMESTEPS (which the layers' checks share, in lstm_np.layers.schema).
#: Sequential.save refuses to write what load would refuse (check_savable).
MAX_LAYERS = 100
MAX_JSON_CHARS = 1_000_000
MAX_NPY_HEADER = 10_000                                       # as numpy.load's own default
MAX_FILE_BYTES = 8 * MAX_PARAMETERS + 2 * 4 * MAX_JSON_CHARS + 16 * 2**20
#: deflate cannot compress better than about 1032 to 1
MAX_DEFLATE_RATIO = 1100
WEIGHT_NAME = re.compile(r"weight_(\d{3,6})\.npy")


FORMAT = "lstm_np.Sequential"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model file that is missing, corrupt, or not an lstm_np model."""


class _Refused(Exception):
    """Internal: the reason a file is refused, completed with its path by read_model_file."""


# ------------------------------------------------------------------------------ the whole file
def read_model_file(path):
    """Check the model file at ``path`` completely; return ``(config, extra, weights)``.

    ``config`` and ``extra`` are the decoded JSON objects, ``weights`` the list of arrays in
    Keras's order, each already of the model's dtype and of the shape its layer expects.
    Raises :class:`ModelFileError` with one sentence for anything else.
    """
    path = os.fspath(path)
    try:
        return _read(path)
    except _Refused as reason:
        raise ModelFileError(f"{path} is not a usable lstm_np model file: {reason}") from None
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
            OverflowError, MemoryError, RecursionError, KeyError, TypeError,
            NotImplementedError) as err:
        # anything the zip or npy readers still find (a bad CRC-32, a damaged local header):
        # the file is damaged in a way the directory did not show
        raise ModelFileError(f"{path} is a damaged lstm_np model file ({_short(err)})") from None


def open_model_file(path):
    """``(file, size)`` of the regular file at ``path``, opened for reading, or
    :class:`ModelFileError`: a FIFO or a device is never read (it could block), a folder never
    opened."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ModelFileError(f"model file {path} does not exist") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path} is a folder, not a model file") from None
    except OSError as err:
        raise ModelFileError(f"cannot open the model file {path} ({_short(err)})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ModelFileError(f"{path} is a folder, not a model file")
        raise ModelFileError(f"{path} is not a regular file (a pipe or a device cannot hold "
                             "a model)")
    return os.fdopen(fd, "rb"), info.st_size


def _read(path):
    f, size = open_model_file(path)
    with f:
        if size > MAX_FILE_BYTES:
            raise _Refused(f"it is {size:,} bytes, more than the {MAX_FILE_BYTES:,} "
                           "a model within lstm_np's limits can take")
        if not zipfile.is_zipfile(f):
            raise _Refused("it is not a NumPy .npz archive (not a zip file); give the "
                           "model.npz written by Sequential.save or python -m lstm_np.train")
        f.seek(0)
        with zipfile.ZipFile(f) as archive:
            entries = _check_directory(archive)
            config = _read_json(archive, entries["config.npy"], "config")
            if not isinstance(config, dict):
                raise _Refused("its config is not a JSON object")
            dtype, shapes = check_config(config)
            weight_names = [f"weight_{k:03d}.npy" for k in range(len(shapes))]
            _check_weight_entries(entries, weight_names, shapes, dtype)
            weights = [_read_weight(archive, entries[name], shape, dtype)
                       for name, shape in zip(weight_names, shapes)]
            extra = {}
            if "extra.npy" in entries:
                extra = _read_json(archive, entries["extra.npy"], "extra")
                if not isinstance(extra, dict):
                    raise _Refused("its extra entry is not a JSON object")
    return config, extra, weights


def _short(err):
    """The first line of an exception's message, without a final full stop, kept short."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    text = text.rstrip(".")
    return text if len(text) <= 120 else text[:117] + "..."


# ----------------------------------------------------------------------------- zip directory
def _check_directory(archive):
    """The zip directory's entries by name, checked before any of them is inflated."""
    infos = archive.infolist()
    if len(infos) > 2 + 6 * MAX_LAYERS:        # a Bidirectional layer holds six arrays
        raise _Refused(f"it has {len(infos):,} entries; a model file has at most "
                       f"{2 + 6 * MAX_LAYERS}")
    entries = {}
    for info in infos:
        name = info.filename
        if name in entries:
            raise _Refused(f"the entry {name!r} appears twice")
        if name not in ("config.npy", "extra.npy") and not WEIGHT_NAME.fullmatch(name):
            raise _Refused(f"it has an entry {name[:60]!r} that no lstm_np model file has "
                           "(only config, extra and weight_NNN)")
        if info.flag_bits & 0x1:
            raise _Refused(f"the entry {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Refused(f"the entry {name!r} uses zip compression method "
                           f"{info.compress_type}; lstm_np writes stored or deflated entries")
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise _Refused(f"the entry {name!r} is stored uncompressed but declares "
                           f"{info.file_size:,} bytes in {info.compress_size:,}")
        if info.file_size > MAX_DEFLATE_RATIO * max(info.compress_size, 1):
            raise _Refused(f"the entry {name!r} declares {info.file_size:,} bytes from "
                           f"{info.compress_size:,} compressed, more than deflate can produce "
                           "(a zip bomb)")
        if name in ("config.npy", "extra.npy") and \
                info.file_size > MAX_NPY_HEADER + 16 + 4 * MAX_JSON_CHARS:
            raise _Refused(f"the entry {name!r} declares {info.file_size:,} bytes, more than a "
                           f"JSON text of {MAX_JSON_CHARS:,} characters needs")
        if info.file_size > MAX_NPY_HEADER + 16 + 8 * MAX_PARAMETERS:
            raise _Refused(f"the entry {name!r} declares {info.file_size:,} bytes, more than "
                           f"{MAX_PARAMETERS:,} parameters need")
        entries[name] = info
    if "config.npy" not in entries:
        raise _Refused("it is a NumPy archive without the 'config' entry every lstm_np model "
                       "file has; give the model.npz written by Sequential.save or python -m "
                       "lstm_np.train")
    return entries


def _check_weight_entries(entries, expected, shapes, dtype):
    present = sorted(name for name in entries if WEIGHT_NAME.fullmatch(name))
    missing = [name for name in expected if name not in entries]
    if missing:
        raise _Refused(f"its config needs {len(expected)} weight arrays but "
                       f"{missing[0][:-4]} is missing")
    unexpected = sorted(set(present) - set(expected))
    if unexpected:
        raise _Refused(f"it has the entry {unexpected[0][:-4]} but its config needs only "
                       f"{len(expected)} weight arrays")
    for name, shape in zip(expected, shapes):
        needed = MAX_NPY_HEADER + 16 + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if entries[name].file_size > needed:
            raise _Refused(f"the entry {name[:-4]} declares {entries[name].file_size:,} bytes "
                           f"but an array of shape {shape} needs at most {needed:,}")


# ------------------------------------------------------------------------------- npy entries
def _open_npy(archive, info):
    """Open an entry and parse its ``.npy`` header (never pickle): ``(stream, shape, dtype,
    fortran_order)``."""
    stream = archive.open(info)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(stream, max_header_size=MAX_NPY_HEADER)
        elif version in ((2, 0), (3, 0)):
            header = np.lib.format.read_array_header_2_0(stream, max_header_size=MAX_NPY_HEADER)
        else:
            raise _Refused(f"the entry {info.filename[:-4]} has .npy version {version}")
    except _Refused:
        stream.close()
        raise
    except zipfile.BadZipFile as err:       # its CRC-32 is checked once it is read through
        stream.close()
        raise _Refused(f"the entry {info.filename[:-4]} is damaged ({_short(err)})") from None
    except Exception as err:
        stream.close()
        raise _Refused(f"the entry {info.filename[:-4]} is not a readable .npy array "
                       f"({_short(err)})") from None
    shape, fortran_order, dtype = header
    return stream, shape, dtype, fortran_order


def _read_exactly(stream, nbytes, info):
    """``nbytes`` bytes, then the end of the entry: reading to the end makes zipfile verify the
    entry's CRC-32."""
    data = stream.read(nbytes)
    if len(data) != nbytes:
        raise _Refused(f"the entry {info.filename[:-4]} ends after {len(data):,} of the "
                       f"{nbytes:,} bytes its header announces")
    if stream.read(1):
        raise _Refused(f"the entry {info.filename[:-4]} holds more bytes than its header "
                       "announces")
    return data


def _read_json(archive, info, what):
    stream, shape, dtype, _ = _open_npy(archive, info)
    with stream:
        if dtype.kind != "U" or shape != ():
            raise _Refused(f"its {what} entry is not a JSON text (a {dtype} array of shape "
                           f"{shape})")
        if dtype.itemsize > 4 * MAX_JSON_CHARS:
            raise _Refused(f"its {what} text is longer than {MAX_JSON_CHARS:,} characters")
        data = _read_exactly(stream, dtype.itemsize, info)
    try:
        # NaN and Infinity parse (Python's json writes them); every number that matters is
        # checked to be finite where it is used
        return json.loads(str(np.frombuffer(data, dtype=dtype)[0]))
    except (ValueError, UnicodeError, RecursionError) as err:
        raise _Refused(f"its {what} entry is not valid JSON ({_short(err)})") from None


def _read_weight(archive, info, shape, dtype):
    name = info.filename[:-4]
    stream, found_shape, found_dtype, fortran_order = _open_npy(archive, info)
    with stream:
        if found_dtype.kind != "f" or found_dtype.fields is not None:
            raise _Refused(f"{name} holds {found_dtype} values; weights must be real floating-"
                           f"point numbers ({dtype.name})")
        if found_dtype.itemsize != dtype.itemsize:
            raise _Refused(f"{name} holds {found_dtype.name} values but the model is "
                           f"{dtype.name}")
        if tuple(found_shape) != tuple(shape):
            raise _Refused(f"{name} has shape {tuple(found_shape)} but its layer needs "
                           f"{tuple(shape)}")
        data = _read_exactly(stream, int(np.prod(shape, dtype=np.int64)) * dtype.itemsize, info)
    array = np.frombuffer(data, dtype=found_dtype).reshape(shape, order="F" if fortran_order
                                                           else "C")
    array = np.ascontiguousarray(array, dtype=dtype)
    if not np.isfinite(array).all():
        raise _Refused(f"{name} holds NaN or infinite values")
    return array


def check_savable(config, extra):
    """Refuse to write a file :func:`read_model_file` would refuse: a model beyond the size
    limits, or extra data that is not a JSON object. Raises :class:`ModelFileError` with one sentence."""
    try:
        check_config(json.loads(json.dumps(config)))
        if not isinstance(json.loads(json.dumps(extra)), dict):
            raise _Refused("its extra data is not a JSON object")
    except _Refused as reason:
        raise ModelFileError(f"this model cannot be saved as an lstm_np model file: "
                             f"{reason}") from None
    except (TypeError, ValueError) as err:
        raise ModelFileError(f"this model cannot be saved: its extra data is not JSON "
                             f"({_short(err)})") from None


# ------------------------------------------------------------------------------------ config
def _shape(value, what, length=None):
    if not isinstance(value, list) or not value or len(value) > 2 or \
            (length is not None and len(value) != length):
        raise _Refused(f"{what} must be a list of one or two positive integers, got "
                       f"{_show(value)}")
    if not all(is_int(s) and 1 <= s <= MAX_TIMESTEPS for s in value):
        raise _Refused(f"{what} must hold positive integers up to {MAX_TIMESTEPS:,}, got "
                       f"{_show(value)}")
    return tuple(int(s) for s in value)


def _show(value):
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _required(layer_cls):
    """The arguments a layer class's constructor cannot do without."""
    return [key for key, p in inspect.signature(layer_cls.__init__).parameters.items()
            if key != "self" and p.default is p.empty and p.kind not in (p.VAR_KEYWORD,
                                                                      p.VAR_POSITIONAL)]


def check_config(config):
    """Check a model configuration (``Sequential.get_config()``) without building anything.

    Returns ``(dtype, shapes)``: the model's dtype and the shape of every weight array in
    Keras's order. Raises ``_Refused`` (made a :class:`ModelFileError` by
    :func:`read_model_file`) otherwise.
    """
    if config.get("format") != FORMAT:
        raise _Refused(f"its config has format {_show(config.get('format'))}, not {FORMAT!r}")
    version = config.get("version")
    if not is_int(version) or version != FORMAT_VERSION:
        raise _Refused(f"its format version is {_show(version)}; this lstm_np reads version "
                       f"{FORMAT_VERSION}")
    unknown = sorted(set(config) - {"format", "version", "dtype", "input_shape", "layers"})
    if unknown:
        raise _Refused(f"its config has the unknown key {_show(unknown[0])}")
    if config.get("dtype") not in ("float32", "float64"):
        raise _Refused(f"its dtype is {_show(config.get('dtype'))}, not float32 or float64")
    dtype = np.dtype(config["dtype"])
    shape = _shape(config.get("input_shape"), "its input_shape")
    layers = config.get("layers")
    if not isinstance(layers, list) or not layers:
        raise _Refused("it has no layers, so it cannot compute anything")
    if len(layers) > MAX_LAYERS:
        raise _Refused(f"it has {len(layers)} layers, more than lstm_np's limit of {MAX_LAYERS}")
    names, shapes, total = set(), [], 0
    for k, spec in enumerate(layers):
        layer_shapes, shape = _check_layer(spec, f"layer {k + 1}", shape, names, first=k == 0)
        total += sum(math.prod(s) for s in layer_shapes)
        if total > MAX_PARAMETERS:
            raise _Refused(f"its layers hold more than {MAX_PARAMETERS:,} parameters, lstm_np's "
                           "limit")
        shapes += layer_shapes
    if not shapes:
        raise _Refused("none of its layers has weights, so it cannot have been trained")
    return dtype, shapes


def _check_layer(spec, where, shape, names, first=False):
    """Check one layer's ``{"class", "config"}`` for inputs of ``shape`` (one sample's);
    return the shapes of its weights in Keras's order and its output shape, as its registered
    class declares them (``config_schema``, ``weight_shapes_for``). A wrapper's inner layers
    are checked the same way, on the shape they see."""
    from .layers import LAYERS

    if not isinstance(spec, dict) or set(spec) != {"class", "config"} or \
            not isinstance(spec["config"], dict):
        raise _Refused(f"{where} is not a {{'class', 'config'}} object")
    cls = spec["class"]
    if not isinstance(cls, str) or cls not in LAYERS:
        raise _Refused(f"{where} has the unknown layer class {_show(cls)}")
    where = f"{where} ({cls})"
    args, schema = spec["config"], LAYERS[cls].config_schema()
    for key, value in args.items():
        check = schema.get(key)
        if check is None:
            raise _Refused(f"{where} has the unknown argument {_show(key)}")
        if not check(value):
            raise _Refused(f"{where} has an invalid {key}: {_show(value)}")
    for key in _required(LAYERS[cls]):
        if key not in args:
            raise _Refused(f"{where} lacks its {key}")
    if args.get("name") is not None:
        if args["name"] in names:
            raise _Refused(f"{where} has the name {args['name']!r} of an earlier layer")
        names.add(args["name"])
    if "input_shape" in args and args["input_shape"] is not None:
        own = _shape(args["input_shape"], f"the input_shape of {where}")
        if first and own != shape:
            raise _Refused(f"its first layer takes inputs {own} but the model takes {shape}")

    def check_inner(inner, role, inner_shape):
        return _check_layer(inner, f"{role} {where}", inner_shape, set())
    try:
        return LAYERS[cls].weight_shapes_for(args, shape, check_inner)
    except ShapeError as err:
        raise _Refused(f"{where} {err}") from None
    except (TypeError, ValueError, KeyError) as err:
        raise _Refused(f"{where} has an invalid configuration for inputs {shape} "
                       f"({_short(err)})") from None
