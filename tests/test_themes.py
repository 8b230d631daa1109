"""Theme files: every bundled theme loads, is complete and readable, renders; broken files are reported and skipped;
an unknown --theme name gets a clear error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.color import Color
from textual.widgets import Static

from tuikanban.ui import themes as th
from tuikanban.ui.app import TuikanbanApp

pytestmark = pytest.mark.engines  # the tests that use a database run on SQLite and on PostgreSQL

REPO_THEMES = Path(__file__).resolve().parent.parent / "themes"
FULL_KEYS = ("primary", "secondary", "accent", "foreground", "background", "surface", "panel", "success", "warning",
             "error")
TK_VARS = ("tk-wip-limit", "tk-wip-over", "tk-wip-under", "tk-aging", "tk-stalled", "tk-won", "tk-lost",
           "tk-card-focus", "tk-lane-header")
BUNDLED = sorted(p.stem for p in REPO_THEMES.glob("*.toml"))


def user_themes() -> Path:
    d = Path(os.environ["XDG_CONFIG_HOME"]) / "tuikanban" / "themes"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _luminance(colour: str) -> float:
    c = Color.parse(colour)

    def channel(v: int) -> float:
        x = v / 255
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)


def near(a: Color, b: Color) -> bool:
    """Equal up to the one-unit rounding of Textual's palette generation."""
    return all(abs(x - y) <= 1 for x, y in zip(a.rgb, b.rgb, strict=True))


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula_matches_known_values() -> None:
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


def test_the_bundled_folder_is_the_package_folder() -> None:
    assert th.bundled_themes_dir().resolve() == REPO_THEMES.resolve()
    assert BUNDLED == ["high-contrast", "nord-pipeline", "solarized-deal", "tuikanban-dark", "tuikanban-light"]
    assert th.DEFAULT_THEME in BUNDLED


def test_every_bundled_theme_loads_complete() -> None:
    themes, problems = th.load_themes()
    assert problems == []
    by_name = {t.name: t for t in themes}
    assert sorted(by_name) == BUNDLED
    for name in BUNDLED:
        t = by_name[name]
        for key in FULL_KEYS:
            assert getattr(t, key), f"{name} has no {key}"
        assert set(TK_VARS) <= set(t.variables), f"{name} lacks some tk-* variables"
    assert by_name["tuikanban-light"].dark is False
    assert by_name["tuikanban-dark"].dark is True
    assert by_name["tuikanban-dark"].primary == "#3BA7D9"  # as written in the file


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_themes_are_readable(name: str) -> None:
    t = th.load_theme_file(REPO_THEMES / f"{name}.toml")
    assert t.foreground and t.background and t.surface and t.panel
    for ground in (t.background, t.surface, t.panel):
        assert contrast(t.foreground, ground) >= 4.5, f"{name}: text on {ground}"  # WCAG AA for text
    for var in TK_VARS:
        for ground in (t.surface, t.panel):
            ratio = contrast(t.variables[var], ground)
            assert ratio >= 3.0, f"{name}: {var} on {ground} is {ratio:.2f}:1"  # WCAG for UI indicators


class ThemedApp(App[None]):
    """A minimal board stand-in: registers the theme files and uses every tk-* variable in its CSS."""

    CSS = "\n".join(f"#{v} {{ color: ${v}; }}" for v in TK_VARS)

    def __init__(self, theme_name: str) -> None:
        super().__init__()
        self.problems = th.register_themes(self)
        self.theme = theme_name

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return th.tk_variable_defaults(self.current_theme)

    def compose(self) -> ComposeResult:
        for v in TK_VARS:
            yield Static(v, id=v)


@pytest.mark.parametrize("name", BUNDLED)
async def test_each_theme_drives_the_tk_colours(name: str) -> None:
    theme = th.load_theme_file(REPO_THEMES / f"{name}.toml")
    app = ThemedApp(name)
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        assert app.problems == []
        assert app.theme == name
        for v in TK_VARS:
            got = app.query_one(f"#{v}", Static).styles.color
            assert got == Color.parse(theme.variables[v]), v


async def test_a_theme_without_tk_variables_falls_back_to_the_defaults() -> None:
    (user_themes() / "plain.toml").write_text('primary = "#336699"\nerror = "#AA0000"\nwarning = "#CC8800"\n')
    app = ThemedApp("plain")
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        assert near(app.query_one("#tk-wip-limit", Static).styles.color, Color.parse("#AA0000"))  # $error
        assert near(app.query_one("#tk-wip-under", Static).styles.color, Color.parse("#CC8800"))  # $warning


async def test_dollar_references_in_a_theme_file_are_resolved() -> None:
    (user_themes() / "refs.toml").write_text(
        'primary = "#336699"\nsuccess = "#00AA00"\n[variables]\ntk-won = "$success"\ntk-lost = "$primary 50%"\n')
    theme = th.load_theme_file(user_themes() / "refs.toml")
    assert theme.variables == {"tk-won": "#00AA00", "tk-lost": "#336699 50%"}
    app = ThemedApp("refs")
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        assert app.query_one("#tk-won", Static).styles.color == Color.parse("#00AA00")


def test_the_defaults_are_concrete_colours_of_the_theme() -> None:
    theme = th.load_theme_file(REPO_THEMES / "tuikanban-dark.toml")
    defaults = th.tk_variable_defaults(theme)
    assert set(defaults) == set(TK_VARS)
    assert near(Color.parse(defaults["tk-wip-limit"]), Color.parse("#E5534B"))  # the theme's error colour
    assert near(Color.parse(defaults["tk-lane-header"]), Color.parse("#7E93B8"))  # its secondary colour
    assert near(Color.parse(defaults["tk-card-focus"]), Color.parse("#F2B84B"))  # its accent colour


@pytest.mark.parametrize("name", BUNDLED)
async def test_the_board_renders_with_each_theme(name: str, tmp_path: Path, fixed_now: str) -> None:
    from tuikanban.services.demo import build_demo
    from tuikanban.store.engine import open_database

    result = build_demo(tmp_path / "demo.db", seed=1)
    db = open_database(result.path)
    try:
        app = TuikanbanApp(db, "tester", theme=name)
        async with app.run_test(size=(160, 45)) as pilot:
            await pilot.pause()
            assert app.theme == name
            assert app.get_css_variables()["tk-wip-limit"] == th.load_theme_file(
                REPO_THEMES / f"{name}.toml").variables["tk-wip-limit"]
    finally:
        db.close()


BROKEN = {
    "badtoml.toml": ('primary = "#112233"\nsecondary = \n', "is not valid TOML"),
    "nocolour.toml": ('background = "#000000"\n', "has no 'primary' colour"),
    "badcolour.toml": ('primary = "#zz0000"\n', "'primary' = '#zz0000' is not a colour"),
    "unknownkey.toml": ('primary = "#112233"\nprimry = "#000000"\n', "'primry' is not a theme key (did you mean"),
    "badvar.toml": ('primary = "#112233"\n[variables]\ntk-wip-limt = "#ff0000"\n', "'tk-wip-limt' is not a theme"),
    "badvarcolour.toml": ('primary = "#112233"\n[variables]\ntk-aging = "orangeish"\n', "'tk-aging' = 'orangeish'"),
    "othername.toml": ('name = "something-else"\nprimary = "#112233"\n', "differs from the file name"),
    "notbool.toml": ('primary = "#112233"\ndark = "yes"\n', "'dark' must be true or false"),
}


def test_broken_theme_files_are_reported_in_one_sentence_and_skipped() -> None:
    d = user_themes()
    for fname, (text, _) in BROKEN.items():
        (d / fname).write_text(text)
    (d / "mine.toml").write_text('primary = "#123456"\ndark = false\n[variables]\ntk-won = "#00aa00"\n')
    (d / "notes.txt").write_text("not a theme")
    themes, problems = th.load_themes()
    names = [t.name for t in themes]
    assert "mine" in names
    assert set(BUNDLED) <= set(names)
    for fname in BROKEN:
        assert fname[:-5] not in names
    assert len(problems) == len(BROKEN)
    for fname, (_, expected) in BROKEN.items():
        matching = [p for p in problems if f"{d / fname} was skipped" in p]
        assert len(matching) == 1, fname
        problem = matching[0]
        assert expected in problem, problem
        assert problem.endswith(".") and "\n" not in problem and "Traceback" not in problem


def test_register_themes_survives_broken_files_and_returns_the_problems() -> None:
    (user_themes() / "broken.toml").write_text("primary = \n")
    app = App[None]()
    problems = th.register_themes(app)
    assert len(problems) == 1 and "broken.toml" in problems[0]
    for name in BUNDLED:
        assert name in app.available_themes


def test_a_user_theme_replaces_a_bundled_one_of_the_same_name() -> None:
    (user_themes() / "tuikanban-dark.toml").write_text('primary = "#FF00FF"\n')
    themes, problems = th.load_themes()
    assert problems == []
    assert [t.primary for t in themes if t.name == "tuikanban-dark"] == ["#FF00FF"]


def test_unknown_theme_name_is_a_clear_error_listing_the_names() -> None:
    names = th.available_theme_names()
    assert names[0] == "tuikanban-dark"
    with pytest.raises(th.ThemeError) as info:
        th.resolve_theme_name("nrd-pipeline", names)
    msg = str(info.value)
    assert msg.startswith("There is no theme named 'nrd-pipeline' (did you mean 'nord-pipeline'?)")
    for name in BUNDLED:
        assert name in msg
    assert msg.endswith(".") and "\n" not in msg
    assert th.resolve_theme_name("NORD-PIPELINE", names) == "nord-pipeline"
    assert th.resolve_theme_name("nord-pipeline.toml", names) == "nord-pipeline"
    assert th.resolve_theme_name("gruvbox", names) == "gruvbox"  # Textual's own themes are selectable too


def test_theme_option_and_config_theme_resolve_names_alike(cli, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path) -> None:
    import tuikanban.cli.board as cli_board
    import tuikanban.ui.launch as launch
    from tuikanban.settings import load_settings

    opened: list[str | None] = []
    monkeypatch.setattr(launch, "run_board", lambda **kw: opened.append(kw["theme"]))
    monkeypatch.setattr(cli_board, "has_terminal", lambda: True)  # the board is not started: run_board is replaced
    db = str(tmp_path / "t.db")
    # any spelling `config theme` accepts, `--theme` accepts too, and the board gets the theme's own name
    assert cli("--db", db, "--theme", "NORD-PIPELINE").code == 0
    assert cli("--db", db, "--theme", "Solarized-Deal.toml").code == 0
    assert opened == ["nord-pipeline", "solarized-deal"]
    assert cli("config", "theme", "NORD-PIPELINE").code == 0
    assert load_settings().theme == "nord-pipeline"
    # and both refuse a near miss with the same sentence
    board = cli("--db", db, "--theme", "nrd-pipeline")
    config = cli("config", "theme", "nrd-pipeline")
    assert board.code == config.code == 1
    assert board.err == config.err
    assert board.err.startswith("There is no theme named 'nrd-pipeline' (did you mean 'nord-pipeline'?)")
    assert opened == ["nord-pipeline", "solarized-deal"]


def test_config_theme_command_validates_and_remembers(cli) -> None:  # type: ignore[no-untyped-def]
    from tuikanban.settings import load_settings

    bad = cli("config", "theme", "nope")
    assert bad.code == 1
    assert bad.err.startswith("There is no theme named 'nope'")
    assert load_settings().theme is None
    ok = cli("config", "theme", "solarized-deal")
    assert ok.code == 0, ok.err
    assert load_settings().theme == "solarized-deal"
    assert cli("config", "theme").out.strip() == "solarized-deal"
    listing = cli("config", "themes")
    assert listing.code == 0
    assert "solarized-deal *" in listing.out
    assert cli("config", "theme", "--clear").code == 0
    assert load_settings().theme is None
