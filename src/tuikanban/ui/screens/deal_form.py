"""DealFormScreen: create or edit a deal. Inline errors, nothing saved until valid, WIP force with a reason."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from functools import partial
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static, TextArea

from tuikanban.domain.errors import DatabaseError, StaleMoveError, ValidationError, WipLimitError
from tuikanban.domain.merge import EditConflictError, FieldConflict
from tuikanban.domain.models import DealView
from tuikanban.domain.money import format_money, parse_money
from tuikanban.domain.text import clean_text, display, name_key
from tuikanban.services.fields import MAX_FIELD, MAX_TITLE  # (services.deals' limits; no ORM)
from tuikanban.ui.dialogs.base import FormDialog
from tuikanban.ui.dialogs.discard import Unsaved, cancel_asking
from tuikanban.ui.dialogs.fields import FieldError, FieldInput, FieldTextArea, key_hints, literal
from tuikanban.ui.dialogs.reason import override_reason
from tuikanban.ui.jobs import EARLY
from tuikanban.ui.lazy import lazy_module
from tuikanban.ui.presence import HereLine
from tuikanban.ui.screens.close_dates import parse_close_date
from tuikanban.ui.screens.conflicts import CONFLICT_BINDINGS, ConflictBook, conflict_line
from tuikanban.ui.screens.deal_form_parts import (
    FIELDS,
    MAX_OWNER,
    SHOWS,
    DealSaved,
    EditRefused,
    FormData,
    FormRead,
    FormUnreadable,
    MovedMeanwhile,
    MoveRefused,
    NewDealRefused,
    Values,
    edit_changes,
    stored_now,
)
from tuikanban.ui.spares import AheadOfKey

if TYPE_CHECKING:
    from tuikanban.services import deals as deal_service
    from tuikanban.services import screen_reads
    from tuikanban.store.engine import Database
else:
    deal_service = lazy_module("tuikanban.services.deals")
    screen_reads = lazy_module("tuikanban.services.screen_reads")


def _read_form(db: Database, pipeline_id: int, deal_id: int | None) -> FormData:
    """The pipeline's stages, types and currency, and the deal when editing one (without the ORM:
    services.screen_reads, so the form opened in the first second after start does not wait for its import)."""
    c = db.read_plain(lambda u: screen_reads.form_choices(u, pipeline_id, deal_id))
    return FormData(c.pipeline, c.stages, c.types, c.deal, c.owners)


class DealFormScreen(AheadOfKey, Unsaved, FormDialog[DealView | None]):
    """New deal (deal_id None) or edit of an existing one. Returns the saved deal, or None when cancelled.

    The fields are there from the first frame, the title focused, so keys typed straight after the key that opened
    the form land in it; the pipeline's stages, types and currency (and the deal, when editing) fill in once read.
    Enter moves to the next field (a new line in the notes); ctrl+s saves from any field.
    """

    DEFAULT_CSS = """
    DealFormScreen > .dialog { width: 80; }
    DealFormScreen .form-row > .field-label { padding-top: 0; }
    DealFormScreen TextArea { background: $boost; }
    DealFormScreen Select.-textual-compact > SelectCurrent { background: $boost; padding: 0 1; }
    DealFormScreen #f-notes { height: 4; }
    DealFormScreen #form-closed { display: none; }
    DealFormScreen #form-closed.-shown { display: block; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save", priority=True),
        *CONFLICT_BINDINGS,
    ]

    def __init__(
        self,
        db: Database,
        pipeline_id: int,
        user: str,
        deal_id: int | None = None,
        stage_id: int | None = None,
        type_id: int | None = None,
    ) -> None:
        super().__init__()
        self.db = db
        self.pipeline_id = pipeline_id
        self.user = user
        self.deal_id = deal_id
        self.initial_stage_id = stage_id
        self.initial_type_id = type_id
        self.data: FormData | None = None
        self.deal: DealView | None = None  # the version being edited
        self.book = ConflictBook({})  # what the form loaded, as the edit's merge base
        self._ready = asyncio.Event()  # set once the pipeline (and deal) are read, or reading failed
        self._unreachable = False  # the read failed because the database could not be used for a moment
        self._touched: frozenset[str] = frozenset()  # the fields the last save changed (`_edit`)

    # -- loading ------------------------------------------------------------------------------------
    def on_mount(self) -> None:
        if self.built_while_closing():
            return
        self.set_focus(self.query_one("#f-title", Input))  # now, not after a refresh: the next key lands here
        self.start_unless_ahead()

    def start(self) -> None:
        self._read()

    def edit_deal(self, db: Database, deal_id: int) -> None:
        """(A form built before its key, ui/spares.py:) the deal it edits, before `start()`. The board keeps one
        spare form for `n` and `e`: built as a new-deal form, it becomes the edit form here (its owner field is
        filled from the deal, not with the user)."""
        self.db, self.deal_id = db, deal_id
        self.initial_stage_id = self.initial_type_id = None
        self.query_one(".dialog", Vertical).border_title = self._title()
        self.query_one("#f-owner", Input).value = ""
        self.query_one(HereLine).follow(deal_id)

    def _title(self) -> str:
        return "New deal" if self.deal_id is None else f"Edit deal #{self.deal_id}"

    def _read(self) -> None:
        db, pipeline_id, deal_id = self.db, self.pipeline_id, self.deal_id
        self.run_job(lambda: FormRead(_read_form(db, pipeline_id, deal_id)), refused=FormUnreadable,
                     name="read deal form", kind=EARLY)  # (no ORM: ahead of the warm-up after start)

    @on(FormRead)
    async def _form_read(self, message: FormRead) -> None:
        await self.fields_settled()  # what was typed while reading is in the fields before they are filled
        self.data = message.data
        self.deal = message.data.deal
        if self.deal is not None:
            self.book.rebase(screen_reads.edit_base(self.deal))
        self.query_one("#f-owner", Input).suggester = SuggestFromList(message.data.owners, case_sensitive=False)
        await self._apply(message.data)
        self._ready.set()

    @on(FormUnreadable)
    def _form_unreadable(self, message: FormUnreadable) -> None:
        self._ready.set()
        if isinstance(message.error, DatabaseError):
            # The server is down or the file is locked for a moment: the form stays, with what the rep typed (and
            # the keys still coming land in it, not on the board); ctrl+s reads it again and saves.
            self._unreachable = True
            self._banner(f"{message.error} What you typed is kept; press ctrl+s to try again.", error=True)
            return
        self.notify(str(message.error), severity="error", markup=False)
        self.dismiss(None)

    # -- layout -------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = self._title()
            yield Static("", id="form-banner", classes="banner")
            if self.deal_id is not None or self.built_ahead:  # (a spare may become an edit form: `edit_deal`)
                yield HereLine(self.deal_id or 0, "editing", id="form-here")
            yield from self._row("title", "Title", FieldInput(
                placeholder="required", id="f-title", compact=True, max_length=MAX_TITLE), first=True)
            yield from self._row("value", "Value", FieldInput(placeholder="12,500 or 12.5k", id="f-value",
                                                              compact=True))
            yield from self._row("close", "Expected close", FieldInput(
                placeholder="YYYY-MM-DD, +30d, eom", id="f-close", compact=True))
            yield from self._row("company", "Company", FieldInput(id="f-company", compact=True,
                                                                  max_length=MAX_FIELD))
            yield from self._row("contact", "Contact", FieldInput(id="f-contact", compact=True,
                                                                  max_length=MAX_FIELD))
            yield from self._row("owner", "Owner", FieldInput(
                self.user if self.deal_id is None else "", id="f-owner", compact=True, max_length=MAX_OWNER))
            yield from self._row("type", "Deal type", Select[int](
                [], prompt="(none)", allow_blank=True, id="f-type", compact=True))
            yield from self._row("stage", "Stage", Static("…", id="f-stage", classes="muted"))
            yield from self._row("notes", "Notes", FieldTextArea(
                id="f-notes", compact=True, soft_wrap=True, show_line_numbers=False, tab_behavior="focus"))
            yield Static("", id="form-closed", classes="muted")
            yield Static(key_hints(("enter", "next field"), ("ctrl+s", "save"), ("space", "open a list"),
                                   ("esc", "cancel")), classes="hints")

    def _row(self, name: str, label: str, field: Widget, *, first: bool = False) -> ComposeResult:
        with Horizontal(classes="form-row first" if first else "form-row", id=f"row-{name}"):
            yield Label(label, classes="field-label", id=f"l-{name}")
            with Vertical(classes="field-box"):
                yield field
                yield FieldError(id=f"e-{name}")

    async def _apply(self, data: FormData) -> None:
        """Put what was read into the form: title, currency, the type and stage lists, the deal's values."""
        deal = data.deal
        currency = deal.currency if deal else data.pipeline.currency
        if deal is None:
            self.query_one(".dialog", Vertical).border_title = Content(f"New deal · {display(data.pipeline.name)}")
        self.query_one("#l-value", Label).update(Content(f"Value ({currency})"))
        type_select: Select[int] = self.query_one("#f-type", Select)
        type_select.set_options([(literal(t.name), t.id) for t in data.types])
        type_value = deal.type_id if deal else self.initial_type_id
        if type_value in {t.id for t in data.types}:
            type_select.value = type_value
        # the stage list replaces its placeholder (a Select cannot start empty and refuse a blank later)
        placeholder = self.query_one("#f-stage")
        box = self.query_one("#row-stage .field-box", Vertical)
        await placeholder.remove()
        stage_widget: Widget
        if data.stages:
            wanted = deal.stage_id if deal else self.initial_stage_id
            if wanted not in {s.id for s in data.stages}:
                wanted = data.stages[0].id
            stage_widget = Select([(literal(s.name), s.id) for s in data.stages], allow_blank=False, id="f-stage",
                                  compact=True, value=wanted, disabled=deal is not None and deal.status != "open")
        else:
            stage_widget = Static("(no stages)", id="f-stage")
            self._banner(f"Pipeline {data.pipeline.name} has no stages; add one in the pipeline settings first.")
        await box.mount(stage_widget, before=0)
        if deal is not None:
            self._fill(deal, keep_typed=True)
            if deal.status != "open":
                notice = self.query_one("#form-closed", Static)
                notice.update(literal(f"This deal is {deal.status}; its stage cannot be changed here."))
                notice.add_class("-shown")

    @staticmethod
    def _money_text(minor: int | None, currency: str) -> str:
        return "" if minor is None else format_money(minor, currency, symbol=False).replace(",", "")

    # -- helpers ------------------------------------------------------------------------------------
    def _error(self, name: str, message: str, *, hint: bool = False) -> None:
        self.query_one(f"#e-{name}", FieldError).show(message, hint=hint)

    def _banner(self, message: str, *, error: bool = False) -> None:
        banner = self.query_one("#form-banner", Static)
        banner.update(literal(message))
        banner.set_class(bool(message), "-shown")
        banner.set_class(error, "-error")

    def _currency(self) -> str:
        assert self.data is not None
        return self.deal.currency if self.deal else self.data.pipeline.currency

    def _texts(self, deal: DealView | None) -> dict[str, str]:
        """The one-line fields as they show `deal` (as a new form starts when None)."""
        if deal is None:  # (an edit form not read yet starts with every field empty, its owner too)
            owner = self.user if self.deal_id is None else ""
            return {"title": "", "value": "", "close": "", "company": "", "contact": "", "owner": owner}
        return {
            "title": deal.title,
            "value": self._money_text(deal.value_minor, deal.currency),
            "close": deal.expected_close.isoformat() if deal.expected_close else "",
            "company": deal.company,
            "contact": deal.contact,
            "owner": deal.owner,
        }

    def unsaved(self) -> bool:
        """Whether a field differs from what the form started with (the deal as read; empty for a new one)."""
        deal = self.deal
        typed = {name: self.query_one(f"#f-{name}", Input).value for name in self._texts(None)}
        # the fields show text cleaned of control characters (FieldInput): compare with what they were given, cleaned
        started = {name: clean_text(text) for name, text in self._texts(deal).items()}
        notes = clean_text(deal.notes if deal else "", multiline=True)
        if typed != started or self.query_one("#f-notes", TextArea).text != notes:
            return True
        type_value = self.query_one("#f-type", Select).value
        return deal is not None and (type_value if isinstance(type_value, int) else None) != deal.type_id

    def _fill(self, deal: DealView, *, keep_typed: bool = False) -> None:
        """Put a (reloaded) deal's values into the fields; with `keep_typed`, a field the user already typed into
        (the form was still reading the deal) keeps what they typed."""
        for name, text in self._texts(deal).items():
            field = self.query_one(f"#f-{name}", Input)
            if keep_typed and field.value:
                continue
            field.value = text
            if keep_typed and field.has_focus:
                field.select_all()  # as when focus arrives on a filled field: typing replaces it
        type_select = self.query_one("#f-type", Select)
        type_select.value = deal.type_id if deal.type_id is not None else Select.NULL
        stages = self.query("#f-stage").first()
        if isinstance(stages, Select):
            stages.value = deal.stage_id
        notes = self.query_one("#f-notes", TextArea)
        if not (keep_typed and notes.text):
            notes.text = deal.notes
        for name in FIELDS:
            self.query_one(f"#e-{name}", FieldError).clear()

    # -- live feedback ------------------------------------------------------------------------------
    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "f-")[2:]
        if name not in FIELDS or self.data is None or name in self.book.waiting:
            return  # a conflict line stays beside its field until the user chooses
        self._error(name, "")
        if name == "value" and event.value.strip():
            try:
                minor = parse_money(event.value, self._currency())
            except ValidationError:
                return
            plain = format_money(minor, self._currency(), symbol=False).replace(",", "")
            if plain != event.value.strip().replace(",", ""):  # say what "12.5k" or "$1.2M" was read as
                self._error("value", f"= {format_money(minor, self._currency())}", hint=True)
        elif name == "close" and event.value.strip():
            try:
                when = parse_close_date(event.value)
            except ValidationError:
                return
            if when is not None and when.isoformat() != event.value.strip():
                self._error("close", f"= {when.isoformat()}, {when:%A}", hint=True)
        elif name == "owner" and display(event.value) and not any(
                name_key(o).startswith(name_key(event.value)) for o in self.data.owners):
            self._error("owner", "a new rep (no deal has this owner yet): keep it only on purpose", hint=True)

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        name = (event.select.id or "f-")[2:]
        if name in FIELDS:
            self._error(name, "")

    # -- validation ---------------------------------------------------------------------------------
    def _validate(self) -> Values | None:
        """Check every field; show each problem under its field. None when anything is wrong."""
        assert self.data is not None
        problems: dict[str, str] = {}

        title = display(self.query_one("#f-title", Input).value)
        if not title:
            problems["title"] = "A deal needs a title."
        elif len(title) > MAX_TITLE:
            problems["title"] = f"The title is longer than {MAX_TITLE} characters."

        value_minor: int | None = None
        value_text = self.query_one("#f-value", Input).value
        if value_text.strip():
            try:
                value_minor = parse_money(value_text, self._currency())
            except ValidationError as exc:
                problems["value"] = str(exc)

        close: date | None = None
        try:
            close = parse_close_date(self.query_one("#f-close", Input).value)
        except ValidationError as exc:
            problems["close"] = str(exc)

        texts: dict[str, str] = {}
        for name, limit in (("company", MAX_FIELD), ("contact", MAX_FIELD), ("owner", MAX_OWNER)):
            texts[name] = display(self.query_one(f"#f-{name}", Input).value)
            if len(texts[name]) > limit:
                problems[name] = f"The {name} is longer than {limit} characters."

        type_value = self.query_one("#f-type", Select).value
        type_id = type_value if isinstance(type_value, int) else None

        stage_widget = self.query("#f-stage").first()
        stage_id: int | None = None
        if isinstance(stage_widget, Select) and isinstance(stage_widget.value, int):
            stage_id = stage_widget.value
        if stage_id is None:
            problems["stage"] = "Pick a stage (the pipeline has none yet: add one in the pipeline settings)."

        notes = clean_text(self.query_one("#f-notes", TextArea).text, multiline=True).strip()
        if len(notes) > deal_service.MAX_NOTES:
            problems["notes"] = f"The notes are longer than {deal_service.MAX_NOTES} characters."

        if self.show_problems(problems, FIELDS, field_id="f-{}", error_id="e-{}"):
            return None
        assert stage_id is not None
        return Values(title, value_minor, close, texts["company"], texts["contact"], texts["owner"],
                       type_id, stage_id, notes)

    # -- saving -------------------------------------------------------------------------------------
    async def action_save(self) -> None:
        if self.busy:
            return
        if self.data is None and self._unreachable:  # the first read failed: read again, then save
            self._unreachable = False
            self._ready.clear()
            self._read()
        if self.data is None:  # ctrl+s typed while the form was still reading: save once it has read
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout=5.0)
        await self.keys_settled()  # the keys typed just before ctrl+s are in the fields
        if self.data is None or self.busy or self.app.screen is not self:
            return
        values = self._validate()
        if values is None:
            return
        self._banner("")
        if self.deal is None:
            self._create(values)
        else:
            self._edit(values, self.deal)

    def _create(self, values: Values, force_reason: str | None = None) -> None:
        self.busy = True
        db, pipeline_id, user = self.db, self.pipeline_id, self.user

        def create() -> DealSaved:
            return DealSaved(deal_service.create_deal(
                db, pipeline_id, values.title, user=user, stage=values.stage_id,
                value=values.value_minor, company=values.company, contact=values.contact, owner=values.owner,
                dtype=values.type_id, close=values.close, notes=values.notes, force_reason=force_reason,
            ))

        self.run_job(create, refused=partial(NewDealRefused, values=values), name="create deal")

    @on(NewDealRefused)
    def _create_refused(self, message: NewDealRefused) -> None:
        self.busy = False
        exc, values = message.error, message.values
        if isinstance(exc, WipLimitError):
            self._offer_force(exc, lambda reason: self._create(values, reason))
        else:
            self._banner(str(exc), error=True)

    def _edit(self, values: Values, deal: DealView) -> None:
        changes = edit_changes(values, deal)
        move_to = values.stage_id if values.stage_id != deal.stage_id and deal.status == "open" else None
        if not changes and move_to is None:
            self.dismiss(deal)
            return
        self.busy = True
        self._touched = frozenset(changes) | ({"stage"} if move_to is not None else set())
        db, user, base = self.db, self.user, dict(self.book.base)

        def edit() -> DealSaved | MoveRefused | MovedMeanwhile | EditRefused:
            view = deal
            if changes:  # merged with what others saved since the form read the deal (a move never blocks it)
                try:
                    view, _ = deal_service.edit_deal(db, deal.id, changes, user=user, base=base)
                except EditConflictError as exc:
                    return EditRefused(exc, stored_now(db, deal.id))
            if move_to is not None:
                try:
                    view = deal_service.move_deal(db, deal.id, move_to, user=user, seen_stage_id=deal.stage_id).deal
                except WipLimitError as exc:
                    return MoveRefused(exc, view, move_to)
                except StaleMoveError as exc:
                    return MovedMeanwhile(exc, deal_service.get_deal(db, deal.id))
            if deal.status == "open" and view.status != "open":  # saved, but someone took it off the board since
                who = deal_service.closed_meanwhile(db, deal.id, user=user)
                return DealSaved(view, f"Saved your changes to '{display(view.title)}', but {who}, so it is no "
                                       "longer on the board.")
            return DealSaved(view)

        self.run_job(edit, refused=EditRefused, name="edit deal")

    @on(MoveRefused)
    def _move_refused(self, message: MoveRefused) -> None:
        self.busy = False
        view, stage_id = message.deal, message.stage_id
        self.deal = view  # the field changes are saved; only the move was refused
        self.book.rebase(screen_reads.edit_base(view))
        self._offer_force(message.error, lambda reason: self._move(view, stage_id, reason))

    def _move(self, deal: DealView, stage_id: int, force_reason: str) -> None:
        self.busy = True
        db, user = self.db, self.user

        def move() -> DealSaved:
            return DealSaved(deal_service.move_deal(db, deal.id, stage_id, user=user, force_reason=force_reason,
                                                    seen_stage_id=deal.stage_id).deal)

        self.run_job(move, refused=EditRefused, name="move deal")

    @on(EditRefused)
    def _edit_refused(self, message: EditRefused) -> None:
        self.busy = False
        exc = message.error
        if isinstance(exc, EditConflictError):
            self._banner(str(exc), error=True)
            conflicts = self.book.arrived(exc)
            if message.stored is not None:  # (before the conflict lines: filling a field clears its line)
                self._show_stored(message.stored, keep=self._touched | {c.field for c in conflicts})
            for conflict in conflicts:
                self._error(conflict.field, conflict_line(conflict, self._shown(conflict)))
        elif isinstance(exc, WipLimitError):  # a new owner at their per-rep limit in this stage
            self._error("owner" if exc.per_owner else "stage", str(exc) + ".")
        else:
            self._banner(str(exc), error=True)

    @on(MovedMeanwhile)
    def _moved_meanwhile(self, message: MovedMeanwhile) -> None:
        """The fields were saved; the stage list now shows where the other rep put the deal."""
        self.busy = False
        # the fields the rep did not change show what is stored now (another rep's values), so that saving again
        # does not write what the form first read over them; the stage list shows where the other rep put it
        self._show_stored(message.deal, keep=self._touched - {"stage"})
        self.deal = message.deal
        self.book.rebase(screen_reads.edit_base(message.deal))
        self._banner(f"{message.error} Your other changes were saved.", error=True)

    def _show_stored(self, stored: DealView, *, keep: frozenset[str] | set[str]) -> None:
        """After a save that could not finish: every field but those in `keep` (the rep's own changes) shows
        `stored`, and counts as loaded from it (`self.deal`, the merge base), so the next save leaves it alone."""
        if self.deal is None:
            return
        fresh = {attr: getattr(stored, attr) for name, attrs in SHOWS.items() if name not in keep for attr in attrs}
        stage_known = self.data is not None and stored.stage_id in {s.id for s in self.data.stages}
        if not stage_known:  # (an archived stage the list cannot show: the form keeps the one it read)
            fresh.pop("stage_id", None)
            fresh.pop("stage_name", None)
        self.deal = deal = replace(self.deal, **fresh)
        base = screen_reads.edit_base(stored)
        for name in SHOWS:
            if name not in keep and name in base:
                self.book.base[name] = base[name]
        for name, text in self._texts(deal).items():
            if name not in keep:
                self.query_one(f"#f-{name}", Input).value = text
        if "type" not in keep:
            self.query_one("#f-type", Select).value = deal.type_id if deal.type_id is not None else Select.NULL
        if "notes" not in keep:
            self.query_one("#f-notes", TextArea).text = deal.notes
        stages = self.query("#f-stage").first()
        if "stage" not in keep and stage_known and isinstance(stages, Select):
            stages.value = deal.stage_id

    # -- edit conflicts: keep mine / take theirs, per field ----------------------------------------------
    def _shown(self, conflict: FieldConflict) -> str:
        """The other rep's value as the field would show it."""
        theirs = conflict.theirs
        if conflict.field == "value":
            return self._money_text(theirs, self._currency())
        if conflict.field == "close":
            return theirs.isoformat() if theirs is not None else ""
        if conflict.field == "type":
            names = {t.id: t.name for t in self.data.types} if self.data else {}
            return names.get(theirs, "") if theirs is not None else ""
        return str(theirs or "")

    def _choice(self) -> FieldConflict | None:
        focused = self.focused.id if self.focused is not None and self.focused.id else ""
        conflict = self.book.choose(focused[2:])
        if conflict is not None:
            self._error(conflict.field, "")
        return conflict

    def action_keep_mine(self) -> None:
        self._choice()

    def action_take_theirs(self) -> None:
        conflict = self._choice()
        if conflict is None:
            return
        if conflict.field == "type":
            self.query_one("#f-type", Select).value = conflict.theirs if conflict.theirs is not None else Select.NULL
        elif conflict.field == "notes":
            self.query_one("#f-notes", TextArea).text = self._shown(conflict)
        elif conflict.field in FIELDS:
            self.query_one(f"#f-{conflict.field}", Input).value = self._shown(conflict)

    def _offer_force(self, exc: WipLimitError, retry: Callable[[str], None]) -> None:
        """Show the refusal under the stage, and offer to go past the limit with a reason."""
        message = str(exc)
        self._error("stage", f"{message}. Pick another stage, or give a reason to go past the limit.")

        def answered(reason: str | None) -> None:
            if reason:
                retry(reason)
            else:
                stage = self.query("#f-stage").first()
                if stage.focusable:
                    self.set_focus(stage)

        self.app.push_screen(override_reason(message), answered)

    @on(DealSaved)
    def _saved(self, message: DealSaved) -> None:
        self.busy = False
        if message.note:
            self.notify(message.note, severity="warning", timeout=8, markup=False)
        self.dismiss(message.deal)

    def action_cancel(self) -> None:
        cancel_asking(self, partial(self.dismiss, None))


__all__ = [
    "DealFormScreen",
    "DealSaved",
    "EditRefused",
    "FormRead",
    "FormUnreadable",
    "MoveRefused",
    "MovedMeanwhile",
    "NewDealRefused",
    "parse_close_date",
]
