"""scikit-learn's estimator protocol without depending on scikit-learn.

``get_params`` / ``set_params`` read the keyword arguments of ``__init__``
(stored unchanged, as scikit-learn requires), so ``sklearn.base.clone``,
grid searches and pipelines work.
"""

from __future__ import annotations

import inspect
from typing import Any, Dict

from .exceptions import ParameterError


class ParamsMixin:
    """``get_params``, ``set_params`` and a parameter-listing ``__repr__``."""

    @classmethod
    def _param_names(cls) -> list:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor parameters, as stored."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "ParamsMixin":
        """Set constructor parameters; returns ``self``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ParameterError(
                    f"{name!r} is not a parameter of {type(self).__name__}; valid: {', '.join(valid)}", name
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        shown = []
        for name, value in self.get_params().items():
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = value is default or bool(value == default)
            except Exception:  # noqa: BLE001  arrays and other odd values are shown
                same = False
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"
