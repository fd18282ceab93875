"""Public names imported on first use (PEP 562), for packages whose modules are slow to import.

``lstm_np`` and ``lstm_np.forecast`` list their public names with the module that defines each;
nothing is imported until a name is asked for, so ``python -m lstm_np.train --help`` does not wait
for Numba, pandas or matplotlib.
"""
from importlib import import_module


def lazy_attributes(package, sources, namespace, submodules=()):
    """``__getattr__`` and ``__dir__`` for ``package``: ``sources`` maps a public name to the
    module (relative to ``package``) that defines it; ``submodules`` names modules of the package
    that are attributes themselves (``lstm_np.layers``); ``namespace`` is the package's
    ``globals()``, where a name is kept once imported so that later look-ups skip
    ``__getattr__``."""
    def __getattr__(name):
        if name in submodules:
            return import_module(f"{package}.{name}")    # importing binds it in namespace
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(source, package), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(sources) | set(submodules))

    return __getattr__, __dir__
