"""The one list of layer and cell classes: everything else (model files, the Keras and PyTorch
mappings, the command line's ``--models``) looks a class up here, by name.

A class registers itself with :func:`register` (a decorator or a call); what the rest of the
code needs to know about it is declared on the class: its config (its constructor's
arguments, checked by its ``config_checks``), its weights (``build``, or for a cell
``add_weight`` calls; ``weight_shapes_for`` gives their shapes to the model file before
anything is built), and for a recurrent layer its ``gates``; for the peers' formats its Keras
options (``keras_options``, ``keras_wrapped``, ``keras_file_options``, ``keras_file_groups``)
and its PyTorch form (``torch_module``, ``torch_weights``, ``weights_from_torch``,
``torch_step``). The :class:`.Layer` base has a default for each (no Keras counterpart, no
PyTorch module), so a user's class needs none of them. A user's cell registered here saves and
loads like a built-in one, and with ``kind=`` the forecasting commands accept it in
``--models``.

This module imports nothing, so that any module may import it.
"""

#: class name -> layer class (``Sequential`` configs name layers by class)
LAYERS = {}
#: class name -> cell class (an ``RNN`` config names its cell by class)
CELLS = {}
#: model kind (``--models`` name) -> the layer or cell class that builds it
KINDS = {}


def register(cls=None, *, kind=None):
    """Register a layer or cell class; usable as ``@register``, ``@register(kind="mgu")`` or
    ``register(MyCell, kind="mgu")``. Returns the class.

    A cell (a class with ``forward``, ``backward`` and ``state_size``) goes to :data:`CELLS`,
    any other layer to :data:`LAYERS`. ``kind`` (default: the class's ``kind`` attribute for a
    layer, none for a cell) names it for the forecasting commands: a recurrent layer class is
    built as ``cls(units, return_sequences=...)``, a cell class as
    ``RNN(cls(units), return_sequences=...)``.
    """
    if cls is None:
        return lambda c: register(c, kind=kind)
    if not isinstance(cls, type):
        raise TypeError(f"register takes a class, got {type(cls).__name__}")
    is_cell = all(hasattr(cls, key) for key in ("state_size", "forward", "backward")) and \
        not hasattr(cls, "compute_output_shape")
    table = CELLS if is_cell else LAYERS
    other = table.get(cls.__name__)
    if other is not None and other is not cls:
        raise ValueError(f"another class named {cls.__name__!r} is registered already "
                         f"({other.__module__}); give yours another name")
    table[cls.__name__] = cls
    if kind is not None:
        kind = str(kind).lower()
        if KINDS.get(kind, cls) is not cls:
            raise ValueError(f"the model kind {kind!r} is taken by {KINDS[kind].__name__}")
        KINDS[kind] = cls
    return cls

