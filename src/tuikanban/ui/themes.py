"""Theme files: the bundled `themes/` folder plus `<user config dir>/themes`, one TOML file per theme.

A theme file is a Textual theme (name, colours, dark) plus a `[variables]` table that may set Textual's own
variables and tuikanban's (`tk-wip-limit`, `tk-stalled`, ...). The file name without `.toml` is the theme's
name, as used by `--theme NAME`. A broken file is reported in one sentence and skipped, never a crash; a user
theme with the same name as a bundled one replaces it.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

from tuikanban.domain.errors import ValidationError

if TYPE_CHECKING:
    from textual.app import App

SUFFIX = ".toml"
DEFAULT_THEME = "tuikanban-dark"
FALLBACK_THEME = "textual-dark"

COLOUR_KEYS = (
    "primary", "secondary", "accent", "foreground", "background", "surface", "panel", "boost",
    "success", "warning", "error",
)
REQUIRED_KEYS = ("primary",)
OTHER_KEYS = ("name", "description", "author", "dark", "luminosity_spread", "text_alpha", "variables")

# tuikanban's own theme variables and the theme colour each one defaults to. Textual does NOT resolve `$name`
# inside variable values, so an app must hand concrete colours to get_theme_variable_defaults: use
# `tk_variable_defaults(self.current_theme)` there. Theme files may write "$warning" etc.: resolved when loaded.
APP_VARIABLES: dict[str, str] = {
    "tk-wip-limit": "$error",
    "tk-wip-over": "$error",
    "tk-wip-under": "$warning",
    "tk-aging": "$warning",
    "tk-stalled": "$error",
    "tk-won": "$success",
    "tk-lost": "$error",
    "tk-card-focus": "$accent",
    "tk-lane-header": "$secondary",
}


class ThemeError(ValidationError):
    """An unknown theme name, or a theme file that cannot be used."""


def bundled_themes_dir() -> Path:
    """The themes shipped with tuikanban (`src/tuikanban/themes`, a link to the top-level `themes/`)."""
    return Path(__file__).resolve().parent.parent / "themes"


def user_themes_dir() -> Path:
    from tuikanban.settings import user_themes_dir as _dir

    return _dir()


@lru_cache(maxsize=1)
def _textual_variables() -> frozenset[str]:
    from textual.design import ColorSystem

    return frozenset(ColorSystem("#000000").generate())


def tk_variable_defaults(theme: Theme | None) -> dict[str, str]:
    """Concrete colours for the tk-* variables a theme leaves out (for App.get_theme_variable_defaults)."""
    from textual.theme import BUILTIN_THEMES

    colours = (theme or BUILTIN_THEMES[FALLBACK_THEME]).to_color_system().generate()
    return {name: colours[ref[1:]] for name, ref in APP_VARIABLES.items()}


def _colour_ok(value: str) -> bool:
    """A colour, optionally with an alpha percentage ("#88c0d0 40%"), or a `$colour` of the theme."""
    parts = value.split()
    if not parts or len(parts) > 2:
        return False
    head = parts[0]
    if head.startswith("$"):
        ok = head[1:] in _textual_variables()
    elif head == "auto":
        ok = True
    else:
        try:
            Color.parse(head)
        except ColorParseError:
            return False
        ok = True
    if len(parts) == 2:
        pct = parts[1]
        if not pct.endswith("%"):
            return False
        try:
            return ok and 0 <= float(pct[:-1]) <= 100
        except ValueError:
            return False
    return ok


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.7)
    return f" (did you mean '{close[0]}'?)" if close else ""


def load_theme_file(path: Path) -> Theme:
    """One theme file as a Textual Theme; ThemeError (one sentence naming the file) when it cannot be used."""

    def bad(why: str) -> ThemeError:
        return ThemeError(f"Theme file {path} was skipped: {why}.")

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise bad(f"it cannot be read ({exc.strerror or exc})") from None
    try:
        data: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad("it is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise bad(f"it is not valid TOML ({exc})") from None
    stem = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
    known = (*COLOUR_KEYS, *OTHER_KEYS)
    for key in data:
        if key not in known:
            raise bad(f"'{key}' is not a theme key{_suggest(key, known)}")
    name = data.get("name", stem)
    if not isinstance(name, str) or name != stem:
        raise bad(f"its name {name!r} differs from the file name '{stem}' (they must match, --theme uses it)")
    for key in REQUIRED_KEYS:
        if key not in data:
            raise bad(f"it has no '{key}' colour")
    colours: dict[str, str] = {}
    for key in COLOUR_KEYS:
        if key not in data:
            continue
        value = data[key]
        if not isinstance(value, str):
            raise bad(f"'{key}' must be a colour in quotes such as \"#88C0D0\"")
        try:
            Color.parse(value)
        except ColorParseError:
            raise bad(f"'{key}' = {value!r} is not a colour (use #rrggbb)") from None
        colours[key] = value
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise bad("'dark' must be true or false")
    numbers: dict[str, float] = {}
    for key in ("luminosity_spread", "text_alpha"):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise bad(f"'{key}' must be a number between 0 and 1")
            numbers[key] = float(value)
    for key in ("description", "author"):
        if key in data and not isinstance(data[key], str):
            raise bad(f"'{key}' must be text in quotes")
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise bad("'variables' must be a table ([variables])")
    allowed = _textual_variables() | APP_VARIABLES.keys()
    clean_vars: dict[str, str] = {}
    for var, value in variables.items():
        if var not in allowed:
            raise bad(f"'{var}' is not a theme variable{_suggest(var, allowed)}")
        if not isinstance(value, str) or not value.strip():
            raise bad(f"variable '{var}' must be text in quotes")
        is_style = var.endswith("-style")
        if not is_style and not _colour_ok(value):
            raise bad(f"variable '{var}' = {value!r} is not a colour (use #rrggbb)")
        clean_vars[var] = value.strip()
    theme = Theme(name=stem, dark=dark, variables={}, **colours, **numbers)  # type: ignore[arg-type]
    try:
        palette = theme.to_color_system().generate()
    except Exception as exc:  # a combination Textual cannot build a palette from
        raise bad(f"Textual cannot build colours from it ({exc})") from None
    for var, value in clean_vars.items():  # "$warning 50%" -> "#f0a93b 50%" (Textual would not resolve it)
        if value.startswith("$"):
            head, *rest = value.split()
            clean_vars[var] = " ".join([palette[head[1:]], *rest])
    theme.variables = clean_vars
    return theme


def theme_files(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith("."))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError:
        return []


def load_themes(extra_dirs: Sequence[Path] = ()) -> tuple[list[Theme], list[str]]:
    """All usable themes (bundled, then user, then `extra_dirs`; later ones replace same-named earlier ones)
    and one sentence per file that was skipped."""
    found: dict[str, Theme] = {}
    problems: list[str] = []
    for directory in (bundled_themes_dir(), user_themes_dir(), *extra_dirs):
        for path in theme_files(directory):
            try:
                theme = load_theme_file(path)
            except ThemeError as exc:
                problems.append(str(exc))
                continue
            found.pop(theme.name, None)
            found[theme.name] = theme
    return list(found.values()), problems


def theme_sources(extra_dirs: Sequence[Path] = ()) -> dict[str, Path]:
    """Theme name -> the file it is loaded from (for `tuikanban config themes`)."""
    sources: dict[str, Path] = {}
    for directory in (bundled_themes_dir(), user_themes_dir(), *extra_dirs):
        for path in theme_files(directory):
            sources[path.name[: -len(SUFFIX)]] = path
    return sources


def register_themes(app: App[Any], extra_dirs: Sequence[Path] = ()) -> list[str]:
    """Register every usable theme file on `app`; returns the problems (one sentence per skipped file)."""
    themes, problems = load_themes(extra_dirs)
    for theme in themes:
        app.register_theme(theme)
    return problems


def register_start_theme(app: App[Any], requested: str | None, remembered: str | None,
                         extra_dirs: Sequence[Path] = ()) -> tuple[str, list[str], bool]:
    """Register the theme the board starts with, and only that file: reading and checking every theme file (a
    palette generated for each) cost the first paint about 5 % of a loaded start (docs/PERFORMANCE.md, Start-up).
    Returns its name (`choose_theme`: an unknown `--theme` raises ThemeError), the problems to show, and whether
    the other files are still to be registered (`register_themes`, after the first paint). When the chosen file
    turns out broken, every file is read now, as before, so the choice and its sentences are the same."""
    sources = theme_sources(extra_dirs)
    available = ordered({*sources, *app.available_themes})
    name, problems = choose_theme(requested, remembered, available)
    if name not in sources:
        return name, problems, True  # one of Textual's own themes
    try:
        app.register_theme(load_theme_file(sources[name]))
    except ThemeError:
        every = register_themes(app, extra_dirs)
        name, problems = choose_theme(requested, remembered, ordered(app.available_themes))
        return name, every + problems, False
    return name, problems, True


def textual_theme_names() -> list[str]:
    from textual.theme import BUILTIN_THEMES

    return [n for n in BUILTIN_THEMES if n != "textual-ansi"]


def ordered(names: Iterable[str]) -> list[str]:
    """tuikanban's own themes first (the default leading), then the others by name."""
    return sorted(names, key=lambda n: (n != DEFAULT_THEME, not n.startswith("tuikanban-"), n))


def available_theme_names(extra_dirs: Sequence[Path] = ()) -> list[str]:
    """Our themes first (bundled and user), then Textual's built-in ones."""
    ours = ordered(t.name for t in load_themes(extra_dirs)[0])
    return ours + [n for n in textual_theme_names() if n not in ours]


def resolve_theme_name(name: str, available: Iterable[str]) -> str:
    """The theme called `name` (exact, else case-insensitive); ThemeError listing the names otherwise."""
    names = list(available)
    wanted = name.strip()
    if wanted in names:
        return wanted
    folded = [n for n in names if n.casefold() == wanted.casefold()]
    if folded:
        return folded[0]
    if wanted.endswith(SUFFIX):
        return resolve_theme_name(wanted[: -len(SUFFIX)], names)
    listing = ", ".join(names) if names else "none"
    raise ThemeError(f"There is no theme named '{name}'{_suggest(wanted, names)}; available themes: {listing}.")


def find_theme(name: str, extra_dirs: Sequence[Path] = ()) -> str:
    """The canonical name of the theme called `name` among every available one: what `--theme NAME` and
    `tuikanban config theme NAME` both accept (case-insensitive, `.toml` allowed, "did you mean" otherwise)."""
    return resolve_theme_name(name, available_theme_names(extra_dirs))


def choose_theme(requested: str | None, remembered: str | None, available: Sequence[str]) -> tuple[str, list[str]]:
    """The theme to start with: `--theme` (an unknown name raises ThemeError), else the remembered one, else the
    default. Returns the name and any problems to show (a remembered theme that has gone away)."""
    if requested:
        return resolve_theme_name(requested, available), []
    problems: list[str] = []
    default = DEFAULT_THEME if DEFAULT_THEME in available else FALLBACK_THEME
    if remembered:
        try:
            return resolve_theme_name(remembered, available), []
        except ThemeError:
            problems.append(f"The remembered theme '{remembered}' is not available any more; using {default}.")
    return default, problems


__all__ = [
    "APP_VARIABLES",
    "DEFAULT_THEME",
    "ThemeError",
    "available_theme_names",
    "bundled_themes_dir",
    "choose_theme",
    "find_theme",
    "load_theme_file",
    "load_themes",
    "ordered",
    "register_start_theme",
    "register_themes",
    "resolve_theme_name",
    "theme_sources",
    "tk_variable_defaults",
    "user_themes_dir",
]
