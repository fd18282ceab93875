"""The search space of ``python -m lstm_np.tune``: its axes, their values, and the configurations.

An axis is any option that changes a training: every field of
:class:`~lstm_np.forecast.options.TrainOptions` in the ``data`` and ``training`` groups that is not
marked ``fixed`` (the data source, how it is read, the test windows and the horizon are the same
for every training of a search), named by its flag without the dashes (``learning-rate``), plus
``layers``, the number of layers of ``units`` units. The axes are derived from the options, so an
option added there (or a value added to its choices, such as an optimizer) is an axis here at once.

A value is read by the option's own check, so ``--grid units=0`` is refused as ``--units 0`` is.
A value of a tuple option joins its parts with ``+`` (``units=50+100``); an option whose default
is "none" (``learning-rate``, ``patience``) also takes ``none``.

The configurations are the grid's cartesian product, in the order its axes were given, numbered
1, 2, ... by their place in it; ``--samples`` and ``--budget`` draw some of them at random
(seeded by ``--seed``) and keep them in that order, so a configuration's number names the same
settings whatever was drawn.
"""
from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import dataclass, fields

import numpy as np

from .cli import UserError
from .options import TrainOptions, positive_int

__all__ = ["Config", "axes", "check_count", "choose", "configurations", "parse_grid", "parse_value", "read_space",
           "search_space", "text"]

LAYERS = "layers"


def axes():
    """``{axis name: its TrainOptions field}``, in the options' order; ``layers`` maps to None."""
    found = {}
    for f in fields(TrainOptions):
        meta = f.metadata
        # the seed is not an axis: --seeds trains every configuration with each seed
        if meta.get("group") in ("data", "training") and not meta.get("fixed") and f.name != "seed":
            found[meta["flags"][0].removeprefix("--")] = f
    found[LAYERS] = None
    return found


def _axis(name, where):
    known = axes()
    key = str(name).strip().lower().replace("_", "-")
    if key not in known:
        raise UserError(f"{where}: unknown axis {name!r}; the axes are {', '.join(known)}")
    return key, known[key]


def parse_value(name, value, where="--grid"):
    """One value of axis ``name`` (already known) from text, checked as its option checks it."""
    key, f = _axis(name, where)
    shown = text(value) if isinstance(value, (list, tuple)) else str(value).strip()
    if f is None:
        convert, tuple_valued = positive_int, False
    else:
        if f.default is None and shown.lower() in ("none", "default"):
            return None
        kwargs = f.metadata["argparse"]
        convert, tuple_valued = kwargs.get("type"), isinstance(f.default, tuple)
        if convert is None:
            choices = kwargs.get("choices")
            if choices is not None and shown not in choices:
                raise UserError(f"{where}: {key} cannot be {shown!r}; choose from {', '.join(choices)}")
            return shown
    try:
        return convert(shown.replace("+", ",") if tuple_valued else shown)
    except argparse.ArgumentTypeError as err:
        raise UserError(f"{where}: {key} {err}") from None


def _values(key, raw, where):
    if not raw:
        raise UserError(f"{where}: the axis {key} has no value (an empty grid); give one or more")
    values = [parse_value(key, v, where) for v in raw]
    shown = [text(v) for v in values]
    twice = sorted({s for s in shown if shown.count(s) > 1})
    if twice:
        raise UserError(f"{where}: the axis {key} lists {twice[0]} twice")
    return values


def parse_grid(specs):
    """``["units=32,64", "window=30,60"]`` -> ``[("units", [(32,), (64,)]), ("window", [30, 60])]``."""
    space = []
    for spec in specs or ():
        name, sep, values = str(spec).partition("=")
        where = f"--grid {spec}"
        if not sep:
            raise UserError(f"{where}: expected NAME=VALUE,VALUE... such as units=32,64")
        key, _ = _axis(name, where)
        space.append((key, _values(key, [v for v in values.split(",") if v.strip()], where)))
    return space


def read_space(path):
    """The axes of a TOML (``.toml``) or JSON file: ``name = [values]`` per axis, a value of a tuple
    option as a list (``units = [[50, 100], 32]``); in the file's order."""
    where = f"--space {path}"
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise UserError(f"{where} cannot be read ({err.strerror or err})") from None
    toml = not str(path).lower().endswith(".json")
    try:
        if toml:
            import tomllib  # Python 3.11+

            table = tomllib.loads(raw.decode("utf-8"))
        else:
            table = json.loads(raw.decode("utf-8"))
    except ImportError:
        raise UserError(f"{where}: reading TOML needs Python 3.11 or later; give a .json file") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise UserError(f"{where} is not valid {'TOML' if toml else 'JSON'} ({err})") from None
    if not isinstance(table, dict) or not table:
        raise UserError(f"{where} holds no axis; write one line per axis, such as units = [32, 64]")
    space = []
    for name, values in table.items():
        key, _ = _axis(name, where)
        if not isinstance(values, list):
            raise UserError(f"{where}: {key} must be a list of values, such as {key} = [...]")
        if any(isinstance(v, (bool, dict)) for v in values):
            raise UserError(f"{where}: {key} holds a value that is not a number, a name or a list")
        space.append((key, _values(key, values, where)))
    return space


def search_space(grid=None, space_file=None):
    """The axes of a search: the ``--space`` file's, then ``--grid``'s; an axis given twice, or no
    axis at all, is refused."""
    space = (read_space(space_file) if space_file else []) + parse_grid(grid)
    names = [name for name, _ in space]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UserError(f"the axis {twice[0]} is given twice (in --grid or --space); give it once")
    if not space:
        raise UserError("there is nothing to search: give axes with --grid NAME=V1,V2 (such as "
                        "--grid units=32,64) or --space FILE")
    return space


def text(value):
    """A value as the grid writes it: ``(50, 100)`` -> ``50+100``, None -> ``none``."""
    if value is None:
        return "none"
    if isinstance(value, (list, tuple)):
        return "+".join(map(str, value))
    return str(value)


@dataclass(frozen=True)
class Config:
    """One configuration: its number in the grid (from 1), its axis values and its options."""

    id: int
    values: dict
    options: TrainOptions

    @property
    def name(self):
        return f"c{self.id}"

    def describe(self):
        """``units 32, window 30, optimizer adam``."""
        return ", ".join(f"{k} {text(v)}" for k, v in self.values.items())


def configurations(space, base):
    """Every configuration of the grid, in order: ``base`` (a TuneOptions) with each combination
    of the axes' values. ``layers=L`` repeats a single ``units`` value L times."""
    names = [name for name, _ in space]
    known = axes()
    result = []
    for k, combination in enumerate(itertools.product(*(values for _, values in space)), start=1):
        values = dict(zip(names, combination))
        changes = {known[n].name: v for n, v in values.items() if n != LAYERS}
        if LAYERS in values:
            units, layers = tuple(changes.get("units", base.units)), values[LAYERS]
            if len(units) == 1:
                changes["units"] = units * layers
            elif len(units) != layers:
                raise UserError(f"layers {layers} does not fit units {text(units)} ({len(units)} layers); "
                                "give the units axis single numbers, such as --grid units=32,64")
        result.append(Config(k, values, base.training(**changes)))
    return result


def choose(configs, samples=None, seed=0, budget=None, cost=None):
    """The configurations a search tries: all, or a random draw of ``samples`` (seeded by
    ``seed``), cut to what ``budget`` trainings pay for; in grid order.

    ``cost(k)`` is the number of trainings ``k`` configurations need (their selection trainings
    and the refits).
    """
    n = len(configs) if samples is None else min(samples, len(configs))
    if budget is not None:
        if cost(1) > budget:
            raise UserError(f"--budget {budget} trainings does not pay for one configuration: it "
                            f"needs {cost(1)} (its selection trainings and its refits)")
        while cost(n) > budget:
            n -= 1
    if n == len(configs):
        return list(configs)
    picked = np.random.default_rng(seed).choice(len(configs), size=n, replace=False)
    return [configs[k] for k in sorted(picked)]


def check_count(space, limit=100_000):
    """Refuse a grid too large to list (its size is the product of the axes' lengths)."""
    size = int(np.prod([len(v) for _, v in space], dtype=object))
    if size > limit:
        raise UserError(f"the grid has {size:,} configurations, more than {limit:,}; use fewer values "
                        "per axis")
    return size

