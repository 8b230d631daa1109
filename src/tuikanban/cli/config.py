"""`tuikanban config`: where the settings live, what they hold, and the themes on offer."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from tuikanban.cli.common import err, out, say, table
from tuikanban.cli.root import app
from tuikanban.domain.text import visible

config_app = typer.Typer(help="Settings (remembered theme, last pipeline) and themes.", no_args_is_help=True)


@config_app.command("path")
def config_path_cmd() -> None:
    """Print where the config file lives (it may not exist yet)."""
    from tuikanban.settings import config_path

    out.print(Text(visible(str(config_path()))), soft_wrap=True)


@config_app.command("show")
def config_show() -> None:
    """Show the config file's location and the settings in effect."""
    from tuikanban.settings import VIEW_KEY, load_settings, user_themes_dir

    settings = load_settings()
    if settings.problem:
        err.print(Text(visible(settings.problem)))
    path = settings.path
    assert path is not None
    say("Config file: ", Text(visible(str(path))), "" if path.exists() else " (not created yet; the defaults apply)")
    say("User themes: ", Text(visible(str(user_themes_dir()))))
    say("Theme:       ", Text(visible(settings.theme or "(default: tuikanban-dark)")))
    if settings.db:
        say("Database:    ", Text(visible(settings.db)), " (when neither --db nor TUIKANBAN_DB names one)")
    if settings.last_pipeline:
        say("Last pipeline per database:")
        for db, name in sorted(settings.last_pipeline.items()):
            say("  ", Text(visible(db)), " -> ", Text(visible(name)))
    views = settings.extra.get(VIEW_KEY)
    if isinstance(views, dict) and views:
        say(f"Board views remembered (lanes, filter, sort, density, focus) for {len(views)} "
            f"database{'' if len(views) == 1 else 's'}.")
    for key in settings.extra:
        if key not in ("keymap", "density", VIEW_KEY):
            say("Unknown setting kept as is: ", Text(visible(key)))
    _show_keymap()


def _show_keymap() -> None:
    """The board's binding ids and their keys (remapped ones marked), and a sentence per keymap entry left out."""
    from tuikanban.ui.board.keymap import default_keys, user_keymap

    keymap = user_keymap()
    for problem in keymap.problems:
        err.print(Text(visible(problem)))
    say("Board keys (remap them in a [keymap] table, for example \"board.lanes\" = \"S\"):")
    for binding_id, keys in default_keys().items():
        mine = keymap.keys.get(binding_id)
        say(f"  {binding_id:22s} {mine or keys}", f"  (default {keys})" if mine else "")


@config_app.command("themes")
def config_themes() -> None:
    """List the themes: bundled, your own (<config dir>/themes) and Textual's; report broken theme files."""
    from textual.theme import BUILTIN_THEMES

    from tuikanban.settings import load_settings, user_themes_dir
    from tuikanban.ui.themes import (
        DEFAULT_THEME,
        bundled_themes_dir,
        load_themes,
        ordered,
        textual_theme_names,
        theme_sources,
    )

    loaded, problems = load_themes()
    by_name = {t.name: t for t in loaded}
    themes = [by_name[n] for n in ordered(by_name)]
    sources = theme_sources()
    current = load_settings().theme or DEFAULT_THEME
    bundled = bundled_themes_dir().resolve()
    t = table("Theme", "Kind", "From")
    for theme in themes:
        src = sources.get(theme.name)
        where = "bundled" if src is not None and src.resolve().parent == bundled else "yours"
        mark = " *" if theme.name == current else ""
        t.add_row(Text(visible(theme.name) + mark), "dark" if theme.dark else "light",
                  Text(where if where == "bundled" else visible(str(src))))
    for name in textual_theme_names():
        if name not in sources:
            kind = "dark" if BUILTIN_THEMES[name].dark else "light"
            t.add_row(Text(name + (" *" if name == current else "")), kind, "Textual")
    out.print(t)
    say("* = the remembered theme. Add your own as TOML files in ", Text(visible(str(user_themes_dir()))),
        " (copy one of the bundled files to start).")
    for problem in problems:
        err.print(Text(visible(problem)))


@config_app.command("theme")
def config_theme(
    name: Annotated[str | None, typer.Argument(help="Theme to remember (omit to print the current one).")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Forget the remembered theme (use the default).")] = False,
) -> None:
    """Print or set the theme the board starts with (the command palette's theme switcher also sets it)."""
    from tuikanban.settings import load_settings, remember
    from tuikanban.ui.themes import DEFAULT_THEME, find_theme

    if name is None and not clear:
        settings = load_settings()
        if settings.problem:
            err.print(Text(visible(settings.problem)))
        out.print(Text(visible(settings.theme or DEFAULT_THEME)))
        return
    chosen = None if clear else find_theme(name or "")
    problem = remember(theme=chosen)
    if problem:
        err.print(Text(visible(problem)))
        raise typer.Exit(1)
    say("The board will start with the theme ", Text(visible(chosen or DEFAULT_THEME)), ".")


app.add_typer(config_app, name="config")
