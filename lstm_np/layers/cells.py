"""The cell protocol: one timestep of a recurrent layer, forward *and* backward.

Keras's ``RNN(cell)`` runs any object that knows its ``state_size`` and can take one step; here
the step also has a hand-written backward, so a learner's cell trains like a built-in one.
A cell (subclass :class:`Cell`) declares

* ``state_size`` — an int, or a list of ints for several states (the LSTM's ``[H, H]``);
* ``output_size`` — the size of the output of one step;
* ``build(input_shape)`` — creates its weights with ``self.add_weight(name, shape,
  initializer)``; ``input_shape`` is ``(None, D)``, one step of a batch;
* ``forward(inputs, states, training=False) -> (output, new_states, cache)`` — one step:
  ``inputs (N, D)``, ``states`` a list of ``(N, S)`` arrays, ``output (N, output_size)``;
* ``backward(d_output, d_states, cache) -> (d_inputs, d_prev_states, grads)`` — the chain rule
  through that step: ``d_output`` is dL/d(output), ``d_states`` dL/d(new_states) (from the next
  step), ``grads`` a dict {weight name: dL/dweight} of this step alone.

:class:`lstm_np.layers.RNN` owns everything else: the time loop, summing the weight gradients
over time (backpropagation through time), the dropout masks, the states and the shapes.
"""
import inspect

import numpy as np

from .. import activations, initializers


def arguments(cls):
    """``{name: inspect.Parameter}`` of every argument ``cls(...)`` takes, in order: those of
    its constructor, and where that passes ``**options`` on to its base class's, the base's
    that it does not name itself (as :class:`~lstm_np.layers.LSTMCell` adds
    ``unit_forget_bias`` to :class:`KerasCell`'s)."""
    found = {}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = list(inspect.signature(klass.__init__).parameters.values())[1:]
        found.update({p.name: p for p in parameters if p.name not in found and
                      p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)})
        if all(p.kind != p.VAR_KEYWORD for p in parameters):
            break
    return found


def flag(name, value):
    """``value`` as a bool, when it is one (``True``/``False``, NumPy's, or 0/1); anything else
    is refused — in Keras's own argument order a string here would be an initializer, and
    ``bool("glorot_uniform")`` would silently be ``True``."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer))
                                               and value in (0, 1)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r} (pass the arguments after "
                    "use_bias by keyword, e.g. kernel_initializer=...)")


class Cell:
    """Base class of a recurrent cell: weights, config and the sizes of its states.

    Parameters
    ----------
    dropout : float — fraction of the inputs ``x_t`` the :class:`RNN` drops in training (one
        mask per sequence, reused at every step, as in Keras).
    recurrent_dropout : float — fraction of ``h_{t-1}`` dropped where it enters the step.
    name : str, optional.
    """

    state_size = None
    output_size = None

    def __init__(self, dropout=0.0, recurrent_dropout=0.0, name=None):
        for what, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{what} must be in [0, 1), got {rate!r}")
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.name = name
        self.params = {}
        self.built = False
        self._rng, self._dtype = np.random.default_rng(), np.dtype("float64")

    @property
    def state_sizes(self):
        """``state_size`` as a list."""
        size = self.state_size
        return [int(s) for s in size] if isinstance(size, (list, tuple)) else [int(size)]

    def add_weight(self, name, shape, initializer="glorot_uniform"):
        """Create the weight ``name`` of ``shape`` (a Keras initializer name, or a function
        ``(shape, rng) -> array``), keep it in ``params`` and return it."""
        draw = initializers.get(initializer) if isinstance(initializer, str) else initializer
        self.params[name] = np.ascontiguousarray(draw(tuple(shape), self._rng), dtype=self._dtype)
        return self.params[name]

    def build(self, input_shape):
        self.built = True

    def weight_shapes(self, input_dim):
        """``{name: shape}`` of the weights ``build((None, input_dim))`` creates, found without
        allocating them (``add_weight`` hands out zero-stride views meanwhile): how a model file
        is checked before anything is built."""
        shapes, saved = {}, (self.params, self.built)

        def record(name, shape, initializer=None):
            shapes[name] = tuple(int(s) for s in shape)
            return np.broadcast_to(np.zeros((), self._dtype), shapes[name])
        self.add_weight = record
        try:
            self.build((None, int(input_dim)))
        finally:
            del self.add_weight
            self.params, self.built = saved
        return shapes

    def forward(self, inputs, states, training=False):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, d_output, d_states, cache):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self):
        """Every constructor argument, read from the attribute of the same name."""
        return {key: getattr(self, key) for key in arguments(type(self))}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def describe(self):
        return f"{type(self).__name__}" + ("" if self.name is None else f" {self.name!r}")

    def __repr__(self):
        return f"{type(self).__name__}(state_size={self.state_size!r})"


class KerasCell(Cell):
    """What :class:`~lstm_np.layers.LSTMCell`, :class:`~lstm_np.layers.GRUCell` and
    :class:`~lstm_np.layers.SimpleRNNCell` share: Keras's options and weight layout.

    Weights: ``kernel (D, G * H)``, ``recurrent_kernel (H, G * H)`` and, with ``use_bias``,
    ``bias`` of :meth:`bias_shape`, where ``G`` is :attr:`gates`, the number of gate blocks side by
    side along the last axis, and ``H = units``.
    """

    gates = 1
    state_names = ("h",)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 dropout=0.0, recurrent_dropout=0.0, name=None):
        super().__init__(dropout, recurrent_dropout, name)
        if int(units) != units or units < 1:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        if recurrent_activation is not None:        # the gates' σ (none in SimpleRNN)
            self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = flag("use_bias", use_bias)
        initializers.get(kernel_initializer), initializers.get(recurrent_initializer)
        self.kernel_initializer = kernel_initializer
        self.recurrent_initializer = recurrent_initializer

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def bias_shape(self):
        return (self.gates * self.units,)

    def initial_bias(self, shape, rng):
        return np.zeros(shape)

    def build(self, input_shape):
        D, GH = input_shape[-1], self.gates * self.units
        self.add_weight("kernel", (D, GH), self.kernel_initializer)
        self.add_weight("recurrent_kernel", (self.units, GH), self.recurrent_initializer)
        if self.use_bias:
            self.add_weight("bias", self.bias_shape(), self.initial_bias)
        self.built = True

    def weight_arrays(self):
        """``(kernel, recurrent_kernel, bias)``, ``bias`` zeros without ``use_bias``."""
        kernel = self.params["kernel"]
        bias = self.params["bias"] if self.use_bias else np.zeros(self.bias_shape(), kernel.dtype)
        return kernel, self.params["recurrent_kernel"], bias

    def named(self, dweights):
        """``(dkernel, drecurrent_kernel, dbias)`` as the ``grads`` dict, keyed like ``params``
        (no bias gradient without a bias)."""
        return dict(zip(self.params, dweights))
