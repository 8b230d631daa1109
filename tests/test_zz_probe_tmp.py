import pytest
from textual.app import App
from tuikanban.services import pipelines as ps
from tuikanban.ui.screens.settings import StageEditScreen

@pytest.mark.parametrize("css", ["", "StageEditScreen .form-row:focus-within { }", "StageEditScreen .form-row:focus-within { text-style: none; }"])
async def test_probe(db, css):
    class S(StageEditScreen):
        DEFAULT_CSS = css
    class Host(App[None]):
        def on_mount(self): self.push_screen(S(db, p.id, st))
    p = ps.create_pipeline(db, "Sales", list(ps.STARTER_STAGES))
    st = ps.list_stages(db, p.id)[0]
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(); await pilot.pause()
        print(css, "focused", app.screen.focused.id, [str(l.visual) for l in app.screen.query(".field-label") if l.styles.text_style.bold])
        await pilot.press("tab"); await pilot.pause()
        print("focused", app.screen.focused.id, [str(l.visual) for l in app.screen.query(".field-label") if l.styles.text_style.bold])
