"""FirstRunScreen: on an empty database, create the starter pipeline (or a custom one) instead of a blank board."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from tuikanban.domain.models import STARTER_STAGES
from tuikanban.ui.dialogs.fields import FieldError, KeyList, key_hints
from tuikanban.ui.lazy import lazy_module
from tuikanban.ui.screens.pipelines import NewPipelineDialog, PipelineForm

if TYPE_CHECKING:
    from tuikanban.services import pipelines as pipeline_service
    from tuikanban.store.engine import Database
else:
    pipeline_service = lazy_module("tuikanban.services.pipelines")

STARTER_NAME = "Sales"


class FirstRunScreen(NewPipelineDialog):
    """Returns the id of the pipeline created, or None when the user leaves it for later.

    Enter on a choice acts at once (priority binding), so a name typed straight after choosing "Custom" lands in
    the name field; in the fields enter goes to the next one and creates on the last (deal types).
    """

    DEFAULT_CSS = """
    FirstRunScreen > .dialog { width: 96; }
    FirstRunScreen #welcome { margin-top: 1; height: auto; }
    FirstRunScreen #first-choices {
        height: auto;
        margin-top: 1;
        border: none;
        padding: 0;
        background: $surface;
    }
    FirstRunScreen .form-row { margin-top: 0; }
    FirstRunScreen #first-form { margin-top: 1; }
    """

    BINDINGS = [
        Binding("escape", "later", "Later", show=False),
        Binding("ctrl+s", "create", "Create", show=False, priority=True),
    ]

    SUBMIT_ON_ENTER = frozenset({"pf-types"})
    SUBMIT_ACTION = "create"

    def __init__(self, db: Database, user: str) -> None:
        super().__init__()
        self.db = db
        self.user = user
        self.starter_stages = ", ".join(STARTER_STAGES)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = "Welcome to tuikanban"
            yield Static(
                "There is no pipeline in this database yet. Start with the starter sales pipeline, or set up "
                "your own stages (you can change them later in the pipeline settings).",
                id="welcome", markup=False,
            )
            yield KeyList(
                Option(Content.assemble(("Starter pipeline  ", "bold"),
                                        (f"{STARTER_NAME}: {' → '.join(STARTER_STAGES)}",
                                         "$text-muted")), id="starter"),
                Option(Content.assemble(("Custom pipeline   ", "bold"),
                                        ("your own name, stages and deal types", "$text-muted")), id="custom"),
                id="first-choices",
            )
            yield PipelineForm(name=STARTER_NAME, stages=self.starter_stages, id="first-form")
            yield FieldError(id="new-error")
            yield Static(key_hints(("enter", "choose / next field, creates on the last"), ("tab", "edit the fields"),
                                   ("ctrl+s", "create"), ("esc", "later")), classes="hints")

    def on_mount(self) -> None:
        choices = self.query_one("#first-choices", OptionList)
        choices.highlighted = 0
        self.set_focus(choices)  # now: the keys typed next reach it

    async def action_field_enter(self) -> None:
        await self.settled_for_key()  # an arrow typed just before has moved the highlight
        choices = self.query_one("#first-choices", OptionList)
        if self.focused is choices:
            option = choices.highlighted_option
            if option is not None and option.id is not None:
                await self._choose(option.id)
            return
        await super().action_field_enter()

    @on(OptionList.OptionSelected, "#first-choices")
    async def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()  # a click: enter is handled above
        if event.option_id is not None:
            await self._choose(event.option_id)

    async def _choose(self, option_id: str) -> None:
        form = self.query_one("#first-form", PipelineForm)
        form.clear_errors()
        if option_id == "starter":
            form.set_values(name=STARTER_NAME, stages=self.starter_stages, currency=form.query_one(
                "#pf-currency", Input).value or "USD")
            await self.action_create()
        else:
            form.set_values(name="", stages="")
            self.set_focus(form.query_one("#pf-name", Input))

    async def action_create(self) -> None:
        if self.busy:
            return
        await self.keys_settled()  # the keys typed just before ctrl+s are in the fields
        if self.busy or self.app.screen is not self:
            return
        new = self.query_one("#first-form", PipelineForm).check()
        if new is None:
            return
        self.create_pipeline(self.db, new, make_default=True)

    def action_later(self) -> None:
        self.dismiss(None)


__all__ = ["FirstRunScreen"]
