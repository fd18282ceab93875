"""Keras 3's own files: ``model.keras`` and ``model.weights.h5``, read and written as Keras 3
writes them, so a model moves between lstm_np and Keras without either importing the other.

``x.keras`` is a zip archive (Keras's ``saving_lib``) of three entries:

* ``metadata.json`` — ``{"keras_version": ..., "date_saved": ...}``;
* ``config.json`` — the serialized ``keras.Sequential``: ``{"module", "class_name", "config",
  "registered_name", "build_config"}``, its ``config["layers"]`` an ``InputLayer`` (the
  ``batch_shape``) and then every layer serialized the same way (wrapped layers nested under
  ``"layer"`` / ``"backward_layer"``);
* ``model.weights.h5`` — an HDF5 file with one group per object that owns variables, named
  after its *class* (not its name): ``layers/<snake_class>[_k]/vars/0, 1, …`` where ``_k``
  counts earlier layers of the same class (``dense``, ``dense_1``). A recurrent layer keeps
  its weights on its cell (``layers/lstm/cell/vars``), a ``Bidirectional`` on
  ``forward_layer`` and ``backward_layer``, a ``TimeDistributed`` on ``layer``. Every
  ``vars`` group carries the object's name in its ``name`` attribute.

``x.weights.h5`` (``save_weights`` / ``load_weights``) is the same HDF5 file on its own.

Reading checks everything before a model is built, like :mod:`lstm_np.modelfile`: the zip
directory (sizes, compression ratio), the JSON configuration against the layers lstm_np has
(LSTM, GRU, SimpleRNN, Dense, Dropout, Bidirectional, TimeDistributed, RepeatVector,
Flatten, Activation) and their options, then the HDF5 groups: exactly the expected ones, each
weight of the expected shape, real floating-point and finite. Anything else is one
:class:`~lstm_np.models.ModelFileError` sentence. The optimizer's state is neither written
nor read (a Keras model loaded from an lstm_np file is not compiled); an initializer lstm_np
does not have is replaced by the layer's default, which only matters for a later re-build.

``h5py`` is imported only when one of these files is read or written.
"""
import datetime
import io
import json
import os
import zipfile

import numpy as np

from .files import check_output
from .layers import LAYERS
from .layers.base import snake_case as _snake
from .modelfile import _Refused, check_config
from .modelfile import ModelFileError

KERAS_VERSION = "3.15.1"        # what metadata.json says; the format is the same in every Keras 3
WEIGHTS_ENTRY = "model.weights.h5"

#: Keras options lstm_np has no use for: dropped on reading when they hold one of these values
#: (None: any value). Options an lstm_np layer accepts are passed to it instead.
_IGNORED = {
    "trainable": (True,), "dtype": None, "seed": None, "zero_output_for_mask": None,
    "quantization_config": (None,), "kernel_regularizer": (None,),
    "recurrent_regularizer": (None,), "bias_regularizer": (None,),
    "activity_regularizer": (None,), "kernel_constraint": (None,),
    "recurrent_constraint": (None,), "bias_constraint": (None,), "noise_shape": (None,),
    "data_format": ("channels_last", None), "return_state": (False,), "lora_rank": (None,),
    "lora_alpha": None, "implementation": None,
}


def _camel(name):
    return "".join(part.capitalize() for part in name.split("_"))


# ------------------------------------------------------------------------------ the groups
def weight_groups(layer_specs):
    """Where each layer's weights live in Keras's HDF5 file: a list of ``(group path, count,
    name)`` in Keras's weight order, for lstm_np layer specs ``{"class", "config"}``."""
    groups, used = [], {}
    for spec in layer_specs:
        base = _snake(spec["class"])
        used[base] = used.get(base, -1) + 1
        path = f"layers/{base}" + (f"_{used[base]}" if used[base] else "")
        groups += _layer_groups(spec, path, spec["config"].get("name") or base)
    return groups


def _layer_groups(spec, path, name):
    return LAYERS[spec["class"]].keras_file_groups(spec["config"], path, name, _layer_groups)


# ------------------------------------------------------------------------------ writing
def _write_h5(model, f):
    """Write ``model``'s weights in Keras's HDF5 layout to the open ``h5py.File`` ``f``."""
    f.create_group("vars").attrs["name"] = "sequential"
    weights = iter(model.get_weights())
    for path, count, name in weight_groups(model.get_config()["layers"]):
        group = f.require_group(path).create_group("vars")
        group.attrs["name"] = name
        for k in range(count):
            group.create_dataset(str(k), data=next(weights))


def _h5_bytes(model):
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        _write_h5(model, f)
    return buffer.getvalue()


def save_weights(model, path, overwrite=False):
    """Write ``model``'s weights to ``path`` (``*.weights.h5``) as Keras 3's
    ``model.save_weights`` does. An existing file is replaced only with ``overwrite=True``
    (lstm_np's rule for every writer; Keras's own default is True)."""
    from .files import atomic_write

    if not os.fspath(path).endswith(".weights.h5"):
        raise ValueError(f"save_weights writes Keras's *.weights.h5 files; {os.fspath(path)} "
                         "does not end in .weights.h5")
    _require_built(model)
    path = check_output(path, overwrite)
    data = _h5_bytes(model)
    atomic_write(path, lambda f: f.write(data))


def save_model(model, path, overwrite=False):
    """Write ``model`` to ``path`` (``*.keras``) as Keras 3's ``model.save`` does: a zip of
    ``metadata.json``, ``config.json`` and ``model.weights.h5``. An existing file is replaced
    only with ``overwrite=True`` (lstm_np's rule for every writer; Keras's default is True)."""
    from .files import atomic_write

    _require_built(model)
    path = check_output(path, overwrite)
    config = json.dumps(keras_config(model))
    metadata = json.dumps({"keras_version": KERAS_VERSION, "date_saved":
                           datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
    weights = _h5_bytes(model)

    def write(f):
        with zipfile.ZipFile(f, "w") as archive:
            archive.writestr("metadata.json", metadata)
            archive.writestr("config.json", config)
            archive.writestr(WEIGHTS_ENTRY, weights)
    atomic_write(path, write)


def _require_built(model):
    if not model.built:
        raise ValueError("cannot save a model that has not been built")


def _serialized(module, class_name, config, input_shape=None):
    out = {"module": module, "class_name": class_name, "config": config, "registered_name": None}
    if input_shape is not None:
        out["build_config"] = {"input_shape": [None, *input_shape]}
    return out


def _dtype_policy(dtype):
    return _serialized("keras", "DTypePolicy", {"name": dtype})


def _initializer(name):
    return _serialized("keras.initializers", _camel(name), {"seed": None} if name != "zeros"
                       else {})


def _keras_layer(spec, shape, dtype, name=None):
    """One lstm_np layer spec as Keras serializes the layer, built for inputs ``shape``."""
    cls, ours = spec["class"], dict(spec["config"])
    wrapped = LAYERS[cls].keras_wrapped
    ours.pop("input_shape", None)
    ours.pop("implementation", None)
    name = ours.pop("name", None) or name or _snake(cls)
    config = {"name": name, "trainable": True, "dtype": _dtype_policy(dtype)}
    for key, value in ours.items():
        if key.endswith("_initializer"):
            value = _initializer(value)
        elif key in wrapped:          # forward_layer -> "forward_lstm", layer -> "dense"
            side = wrapped[key][:-len("layer")]
            value = _keras_layer(value, LAYERS[cls].inner_input_shape(shape), dtype,
                                 side + _snake(value["class"]))
        config[key] = value
    config.update(LAYERS[cls].keras_file_options)
    return _serialized("keras.layers", cls, config, shape)


def keras_config(model):
    """The ``config.json`` Keras 3 writes for ``model`` (a built lstm_np Sequential)."""
    dtype, shape = model.dtype.name, model.input_shape
    batch = getattr(model, "batch_size", None)       # Input(batch_shape=...): stateful layers
    layers = [_serialized("keras.layers", "InputLayer", {
        "batch_shape": [batch, *shape], "dtype": dtype, "sparse": False, "ragged": False,
        "name": "input_layer"})]
    for layer, spec in zip(model.layers, model.get_config()["layers"]):
        layers.append(_keras_layer(spec, shape, dtype))
        shape = layer.compute_output_shape(shape)
    config = {"name": "sequential", "trainable": True, "dtype": _dtype_policy(dtype),
              "layers": layers, "build_input_shape": [None, *model.input_shape]}
    return _serialized("keras", "Sequential", config, model.input_shape)


# ------------------------------------------------------------------------------ reading
def _fail(path, reason):
    return ModelFileError(f"{path} is not a usable Keras file: {reason}")


def read_model(path):
    """Read a Keras 3 ``*.keras`` file: ``(config, weights)`` of the lstm_np Sequential it
    describes (:func:`lstm_np.models.load_model` builds it), or raise :class:`ModelFileError`
    with one sentence; nothing is built before the whole file passed."""
    path = os.fspath(path)
    try:
        config, h5 = _read_archive(path)
        ours = lstm_np_config(config)
        _, shapes = check_config(ours)
        weights = _read_h5(io.BytesIO(h5), ours["layers"], shapes, np.dtype(ours["dtype"]))
    except _Refused as reason:
        raise _fail(path, reason) from None
    return ours, weights


def load_weights(model, path):
    """Set ``model``'s weights from a Keras 3 ``*.weights.h5`` or ``*.keras`` file made for
    the same architecture; all or nothing."""
    path = os.fspath(path)
    if not model.built:
        raise ValueError("build the model (give its first layer an input_shape) before "
                         "load_weights")
    specs = model.get_config()["layers"]
    shapes = [w.shape for w in model.get_weights()]
    try:
        if path.endswith(".keras"):
            source = io.BytesIO(_read_archive(path)[1])
        else:
            _open_regular(path).close()
            source = path
        weights = _read_h5(source, specs, shapes, model.dtype)
    except _Refused as reason:
        raise _fail(path, reason) from None
    model.set_weights(weights)
    return model


def _open_regular(path):
    from .modelfile import MAX_FILE_BYTES, open_model_file

    f, size = open_model_file(path)
    if size > MAX_FILE_BYTES:
        f.close()
        raise _Refused(f"it is {size:,} bytes, more than lstm_np's limit of {MAX_FILE_BYTES:,}")
    return f


def _read_archive(path):
    """``(config dict, model.weights.h5 bytes)`` of a ``.keras`` zip, its directory checked
    before anything is inflated."""
    from .modelfile import MAX_DEFLATE_RATIO, MAX_FILE_BYTES, MAX_JSON_CHARS

    with _open_regular(path) as f:
        if not zipfile.is_zipfile(f):
            raise _Refused("it is not a zip archive (a .keras file is one)")
        f.seek(0)
        try:
            with zipfile.ZipFile(f) as archive:
                entries = {info.filename: info for info in archive.infolist()}
                for name, limit in (("config.json", 4 * MAX_JSON_CHARS),
                                    (WEIGHTS_ENTRY, MAX_FILE_BYTES)):
                    info = entries.get(name)
                    if info is None:
                        raise _Refused(f"it has no {name} entry")
                    if info.flag_bits & 0x1 or info.compress_type not in (
                            zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                        raise _Refused(f"its {name} entry is encrypted or compressed with "
                                       f"method {info.compress_type}")
                    if info.file_size > limit or \
                            info.file_size > MAX_DEFLATE_RATIO * max(info.compress_size, 1):
                        raise _Refused(f"its {name} entry declares {info.file_size:,} bytes, "
                                       "more than lstm_np reads")
                text, h5 = archive.read("config.json"), archive.read(WEIGHTS_ENTRY)
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as err:
            raise _Refused(f"the zip archive is damaged ({err})") from None
    try:
        config = json.loads(text.decode("utf-8"))
    except (ValueError, UnicodeError, RecursionError) as err:
        raise _Refused(f"its config.json is not valid JSON ({err})") from None
    return config, h5


def _layer_list(config):
    if not isinstance(config, dict) or config.get("class_name") not in ("Sequential",
                                                                        "Functional"):
        raise _Refused("its config.json does not describe a keras.Sequential model")
    inner = config.get("config")
    layers = inner.get("layers") if isinstance(inner, dict) else None
    if not isinstance(layers, list):
        raise _Refused("its config.json has no list of layers")
    if config["class_name"] == "Functional":
        raise _Refused("it holds a functional keras.Model; lstm_np reads keras.Sequential "
                       "models")
    return inner, layers


def lstm_np_config(config):
    """The lstm_np ``Sequential.get_config()`` for a Keras ``config.json``; raises
    ``_Refused`` naming the first layer or option lstm_np does not have."""
    inner, layers = _layer_list(config)
    shape = inner.get("build_input_shape")
    if layers and isinstance(layers[0], dict) and layers[0].get("class_name") == "InputLayer":
        first = layers.pop(0).get("config", {})
        shape = first.get("batch_shape", first.get("batch_input_shape"))
    if not isinstance(shape, list) or len(shape) < 2:
        raise _Refused("its model has no input shape (build it, or start it with keras.Input)")
    dtype = _dtype_name(inner.get("dtype", "float32"))
    ours = [_our_layer(layer, f"layer {k + 1}") for k, layer in enumerate(layers)]
    return {"format": "lstm_np.Sequential", "version": 1, "dtype": dtype,
            "input_shape": list(shape[1:]), "layers": ours}


def _dtype_name(value):
    name = value.get("config", {}).get("name") if isinstance(value, dict) else value
    if name not in ("float32", "float64"):
        raise _Refused(f"its dtype policy is {str(name)[:40]!r}; lstm_np computes in float32 or "
                       "float64")
    return name


def _our_layer(serialized, where):
    """One Keras layer (serialized) as an lstm_np ``{"class", "config"}``."""
    if not isinstance(serialized, dict) or not isinstance(serialized.get("config"), dict):
        raise _Refused(f"its {where} is not a serialized Keras layer")
    cls = serialized.get("class_name")
    supported = [name for name, layer in LAYERS.items() if layer.keras_options is not None]
    if cls not in supported:
        raise _Refused(f"its {where} is a Keras {str(cls)[:40]} layer, which lstm_np does not "
                       f"have (it reads {', '.join(supported)})")
    accepted = LAYERS[cls].config_schema()
    config = {}
    for key, value in serialized["config"].items():
        if key in LAYERS[cls].keras_wrapped:
            value = _our_layer(value, f"{where}'s wrapped layer")
        elif key.endswith("_initializer"):       # the weights come from the file
            value = _initializer_name(value, accepted.get(key))
            if value is None:
                continue
        elif key == "name":
            value = value if isinstance(value, str) else None
        elif key not in accepted:
            allowed = _IGNORED.get(key, ())
            if key in _IGNORED and (allowed is None or value in allowed):
                continue
            raise _Refused(f"its {where} ({cls}) has {key}={json.dumps(value)[:40]}, which "
                           "lstm_np's layer does not support")
        config[key] = value
    return {"class": cls, "config": config}


def _initializer_name(value, check):
    """lstm_np's name of a Keras initializer, or None (use the layer's default) if the layer
    has no such option or lstm_np no such initializer."""
    name = value.get("class_name") if isinstance(value, dict) else value
    name = _snake(name) if isinstance(name, str) else None
    return name if check is not None and check(name) else None


def _read_h5(source, specs, shapes, dtype):
    """The weights, in Keras's order, from the HDF5 file ``source`` (a path or a file
    object), checked against ``shapes`` before any array is read."""
    import h5py

    groups = weight_groups(specs)
    try:
        f = h5py.File(source, "r")
    except (OSError, ValueError) as err:
        raise _Refused(f"its weights are not a readable HDF5 file ({err})") from None
    with f:
        present = set(f["layers"].keys()) if isinstance(f.get("layers"), h5py.Group) else set()
        expected = {path.split("/")[1] for path, _, _ in groups}
        if present != expected:
            missing = sorted(expected - present)
            raise _Refused(f"its weights hold the layers {sorted(present)} but the model needs "
                           f"{sorted(expected)}" + (f" ({missing[0]} is missing)" if missing
                                                    else ""))
        weights, shapes = [], iter(shapes)
        for path, count, _ in groups:
            group = f.get(f"{path}/vars", getlink=False)
            names = sorted(group.keys(), key=lambda s: (len(s), s)) \
                if isinstance(group, h5py.Group) else []
            if names != [str(k) for k in range(count)]:
                raise _Refused(f"its weights at {path} hold {len(names)} arrays; the layer has "
                               f"{count}")
            for name in names:
                weights.append(_read_dataset(group, name, f"{path}/vars/{name}", next(shapes),
                                             dtype))
    return weights


def _read_dataset(group, name, where, shape, dtype):
    import h5py

    link = group.get(name, getlink=True)
    data = group.get(name)
    if not isinstance(link, h5py.HardLink) or not isinstance(data, h5py.Dataset) or \
            data.external:
        raise _Refused(f"its weight {where} is not an array stored in the file")
    if data.dtype.kind != "f":
        raise _Refused(f"its weight {where} holds {data.dtype} values, not real floats")
    if data.shape != tuple(shape):
        raise _Refused(f"its weight {where} has shape {data.shape}; the layer needs "
                       f"{tuple(shape)}")
    array = np.asarray(data[()], dtype=dtype)
    if not np.isfinite(array).all():
        raise _Refused(f"its weight {where} holds NaN or infinite values")
    return array
