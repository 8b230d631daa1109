"""Services imported where they are first used, so that a screen's module imports without the ORM.

The services import SQLAlchemy and SQLModel (about 0.35 s on a quiet machine). The board imports them on its
database lane after the first paint; a screen whose module imported them at the top made a key pressed in the
first second wait for that import on the UI thread (docs/PERFORMANCE.md, Start-up). A screen module therefore
names its services through these stand-ins, which mypy sees as the real thing:

    if TYPE_CHECKING:
        from tuikanban.services import deals as deal_service
    else:
        deal_service = lazy_module("tuikanban.services.deals")

The import happens at the first attribute read or call, which is in a job on a lane (or after the database was
opened, so the ORM is imported by then).
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """A module imported at the first attribute read."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name}>"


def lazy_module(name: str) -> Any:
    """The module `name`, imported when an attribute of it is first read."""
    return LazyModule(name)


def lazy_function(module: str, name: str) -> Any:
    """The function `name` of `module`, imported when it is first called."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call
