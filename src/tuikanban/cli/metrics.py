"""`tuikanban metrics`: the numbers of docs/RULES.md, Metrics, as Rich tables, or one JSON document."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from tuikanban.cli.common import cell, emit_json, out, state
from tuikanban.cli.root import app
from tuikanban.domain import metrics as fm
from tuikanban.domain.money import format_money
from tuikanban.domain.text import display


def _table(title: str, *columns: tuple[str, str]) -> Table:
    t = Table(title=title, header_style="bold", title_justify="left", title_style="bold", show_edge=False,
              pad_edge=False)
    for name, justify in columns:
        t.add_column(name, justify=justify)  # type: ignore[arg-type]
    return t


def _na(sample: str) -> Text:
    return Text.assemble(("n/a", "dim"), (f" ({sample})", "dim"))


def render_report(report: Any) -> list[Any]:
    """The report as Rich renderables (user text always as Text)."""
    from tuikanban.services.metrics import MetricsReport

    r: MetricsReport = report
    cur = r.currency

    def money(minor: int | None) -> str:
        return format_money(minor, cur)

    parts: list[Any] = []

    head = Text.assemble(Text(display(r.pipeline.name), style="bold"), f": last {fm.plural(r.window_days, 'day')}, "
                         f"{r.window_start:%Y-%m-%d} to {r.now:%Y-%m-%d %H:%M} UTC")
    if r.owner is not None:
        head.append(", owner ")
        head.append(Text(display(r.owner)))
    if r.type_name is not None:
        head.append(", type ")
        head.append(Text(display(r.type_name)))
    if r.other_currency_deals:  # their values are not converted, so they are left out of every sum and average
        head.append(f" ({fm.plural(r.other_currency_deals, 'deal')} in other currencies than {cur} not included)")
    parts.append(head)

    closed = f"{r.won_deals} won / {r.closed_deals} closed"
    t = _table("Summary", ("Figure", "left"), ("Value", "right"), ("Based on", "left"))
    t.add_row("Open deals", str(r.open_deals), "open now")
    t.add_row("Open value", money(r.open_value_minor), f"{r.open_deals} open")
    t.add_row("Weighted value", money(r.weighted_value_minor), "open value x stage probability")
    t.add_row("Win rate", fm.format_percent(r.win_rate) if r.win_rate is not None else _na("0 closed"), closed)
    t.add_row("Avg deal size",
              money(r.avg_deal_size_minor) if r.avg_deal_size_minor is not None else _na(f"{r.won_with_value} won"),
              f"{r.won_with_value} won with a value")
    t.add_row("Avg cycle",
              fm.format_duration(r.avg_cycle_days) if r.avg_cycle_days is not None else _na("0 won"),
              f"{r.won_deals} won, created to won")
    t.add_row("Velocity / day",
              money(r.velocity_per_day_minor) if r.velocity_per_day_minor is not None else _na(closed),
              "open x size x win rate / cycle")
    target = r.pipeline.target_minor
    t.add_row("Coverage",
              fm.format_ratio(r.coverage_ratio) if r.coverage_ratio is not None else _na("no target"),
              f"target {money(target)}" if target else "set one: pipeline target")
    parts.append(t)

    b = r.bottleneck
    st_t = _table("Stages", ("Stage", "left"), ("Open", "right"), ("Value", "right"), ("Prob", "right"),
                  ("Avg stay", "right"), ("Conversion", "right"), ("Stays", "right"))
    for st in r.stages:
        is_b = b is not None and b.stage_id == st.stage_id
        name = Text("▶ " if is_b else "  ")
        name.append(cell(st.name))
        if st.archived:
            name.append(" (archived)", style="dim")
        st_t.add_row(
            name, str(st.open_deals), money(st.open_value_minor), f"{st.probability}%",
            fm.format_duration(st.avg_days_in_stage, short=True) if st.avg_days_in_stage is not None
            else _na("0 stays"),
            fm.format_percent(st.conversion_rate) if st.conversion_rate is not None else _na("0 stays"),
            str(st.stays_ended), style="bold yellow" if is_b else None,
        )
    parts.append(st_t)
    if b is not None:
        parts.append(Text.assemble(("Bottleneck: ", "bold"), Text(display(b.reason))))  # the reason names the stage
    else:
        parts.append(Text("Bottleneck: n/a (no stay ended in the window).", style="dim"))

    lr = _table("Lost reasons", ("Reason", "left"), ("Count", "right"))
    for reason in r.lost_reasons:
        lr.add_row(cell(reason.reason), str(reason.count))
    if not r.lost_reasons:
        lr.add_row(Text("none lost in the window", style="dim"), "")
    parts.append(lr)

    for title, key_title, rows in (("By owner", "Owner", r.by_owner), ("By deal type", "Type", r.by_type)):
        bt = _table(title, (key_title, "left"), ("Open", "right"), ("Value", "right"), ("Won", "right"),
                    ("Lost", "right"), ("Win rate", "right"), ("Avg size", "right"))
        for x in rows:
            label = cell(x.key) if x.key else Text("(none)", style="dim")
            bt.add_row(label, str(x.open_deals), money(x.open_value_minor), str(x.won_deals), str(x.lost_deals),
                       fm.format_percent(x.win_rate) if x.win_rate is not None else _na("0 closed"),
                       money(x.avg_deal_size_minor) if x.avg_deal_size_minor is not None else _na("0 won"))
        if not rows:
            bt.add_row(Text("no deals", style="dim"), "", "", "", "", "", "")
        parts.append(bt)

    counts = [w.won_deals for w in r.weekly]
    values = [w.won_value_minor for w in r.weekly]
    parts.append(Text.assemble(
        ("Weekly won ", "bold"),
        f"(last {fm.plural(len(r.weekly), 'week')} from {r.weekly[0].start:%Y-%m-%d}, oldest first)\n"
        if r.weekly else "\n",
        "  deals ", (fm.sparkline(counts), "green"), f"  total {sum(counts)}\n",
        "  value ", (fm.sparkline(values), "green"), f"  total {money(sum(values))}",
    ))

    f = r.forecast
    ft = _table(f"Forecast: won in the next {f.horizon_days} days", ("Confidence", "left"),
                ("Deals (at least)", "right"), ("Value (at least)", "right"))
    for lv in f.levels:
        ft.add_row(fm.format_percent(lv.confidence), str(lv.deals), money(lv.value_minor))
    if not f.levels:
        ft.add_row(_na(f"{f.won_deals_in_history} won in {fm.plural(f.history_days, 'day')}"), "", "")
    parts.append(ft)
    parts.append(Text(forecast_note(f), style="dim"))
    return parts


def forecast_note(f: Any) -> str:
    """ "10,000 trials over 90 days of history (1 won, 1 day with a win), seed 1." and, for a young pipeline,
    what the days before its first event count as."""
    note = (f"{f.trials:,} trials over {fm.plural(f.history_days, 'day')} of history "
            f"({f.won_deals_in_history:,} won, {fm.plural(f.days_with_wins, 'day')} with a win)"
            + (f", seed {f.seed}." if f.seed is not None else "."))
    young = f.days_since_first_event
    if young is not None and young < f.history_days:
        rest = f.history_days - young
        note += (f" The pipeline's first event is {fm.plural(young, 'day')} old: the {fm.plural(rest, 'day')}"
                 f" before it count as days without a win.")
    return note


@app.command("metrics")
def metrics(
    ctx: typer.Context,
    pipeline: Annotated[str | None, typer.Option("--pipeline", "-p", help="Pipeline name (optional with one).")]
    = None,
    window: Annotated[int, typer.Option("--window", help="Window in days, ending now.")] = 90,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's deals.")] = None,
    dtype: Annotated[str | None, typer.Option("--type", help="Only this deal type.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the forecast, for repeatable output.")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    backtest: Annotated[bool, typer.Option(
        "--backtest", help="With --json: add the forecast's backtest over 12 past months (slower).")] = False,
) -> None:
    """Velocity, win rate, deal size, cycle, coverage, per-stage days and conversion, bottleneck, forecast."""
    from tuikanban.services.metrics import compute_metrics, metrics_json

    if backtest and not as_json:
        from tuikanban.domain.errors import ValidationError

        raise ValidationError("--backtest goes with --json.")
    st = state(ctx)
    report = compute_metrics(st.db(), pipeline if pipeline is not None else st.pipeline,
                             window_days=window, owner=owner, deal_type=dtype, seed=seed)
    if as_json:
        from tuikanban.services.forecast_open import open_forecast

        doc = metrics_json(report)
        doc.update(open_forecast(st.db(), report.pipeline.id, window_days=window, seed=seed, now=report.now,
                                 backtest=backtest))
        emit_json(doc)
        return
    for i, part in enumerate(render_report(report)):
        if i:
            out.print()
        out.print(part)
