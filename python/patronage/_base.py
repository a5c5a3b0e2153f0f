"""scikit-learn's estimator conventions without depending on scikit-learn.

``get_params``/``set_params`` read the constructor signature (so
``sklearn.base.clone`` works), ``__repr__`` shows the non-default
parameters, :func:`seed_from` turns a ``random_state`` into the 64-bit
seed the compiled core takes, and :func:`json_document` is how every model's
``from_json`` reads its input.
"""

from __future__ import annotations

import contextlib
import inspect
import json
from typing import Any, Dict, Iterator, List

import numpy as np

from .exceptions import DataError, ModelFileError, ParameterError


class ParamsMixin:
    """``get_params``/``set_params``/``__repr__`` from ``__init__``'s keyword arguments."""

    @classmethod
    def _get_param_names(cls) -> List[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor parameters (with ``deep``, also those of nested estimators)."""
        out: Dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update({f"{name}__{k}": v for k, v in value.get_params().items()})
            out[name] = value
        return out

    def set_params(self, **params: Any) -> "ParamsMixin":
        """Sets constructor parameters (validated at the next ``fit``); returns self."""
        valid = self._get_param_names()
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ParameterError(
                    f"invalid parameter {name!r} for {type(self).__name__}; valid parameters are {valid}", name
                )
            if sub:
                getattr(self, name).set_params(**{sub: value})
            else:
                setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        shown = []
        for name in self._get_param_names():
            default = sig.parameters[name].default
            value = getattr(self, name, default)
            try:
                same = bool(value == default) if not isinstance(value, np.ndarray) else False
            except (TypeError, ValueError):
                same = False
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def seed_from(random_state: Any, name: str = "random_state") -> int:
    """A seed in ``0 .. 2**63`` from None (fresh entropy), an int, or a numpy RandomState/Generator."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ParameterError(f"{name} must be a non-negative integer, got {random_state}", name)
        return int(random_state) % (1 << 63)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(1 << 62))
    raise ParameterError(
        f"{name} must be None, an int or a numpy RandomState/Generator, got {type(random_state).__name__}", name
    )


@contextlib.contextmanager
def json_document(text: Any, what: str) -> Iterator[Dict[str, Any]]:
    """``text`` parsed as a JSON object, for the body of a ``from_json`` that
    rebuilds a model from it; anything wrong with the text, including what the
    body finds wrong (see :func:`model_file`), is a :class:`ModelFileError`
    saying it is not a valid ``what`` document."""
    if not isinstance(text, (str, bytes, bytearray)):
        raise ModelFileError(f"not a {what} JSON document: expected a str, got {type(text).__name__}")
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(f"not a {what} JSON document: {exc}") from None
    if not isinstance(doc, dict):
        raise ModelFileError(f"not a {what} JSON document: expected an object, got {type(doc).__name__}")
    with model_file(f"{what} JSON document"):
        yield doc


@contextlib.contextmanager
def model_file(what: str) -> Iterator[None]:
    """The body that rebuilds a model from a file (JSON or a pickle's state):
    whatever it finds wrong (missing keys, mistyped entries, parameters the core
    refuses, numbers beyond float range, nesting deep enough to exhaust Python's
    recursion limit) is a :class:`ModelFileError` saying it is not a valid ``what``."""
    try:
        yield
    except ModelFileError:
        raise
    except DataError as exc:  # e.g. the core refusing the model's parameters
        raise ModelFileError(f"not a valid {what}: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError, OverflowError) as exc:
        raise ModelFileError(f"not a valid {what}: {type(exc).__name__}: {exc}") from None
