"""A column header: stage name, WIP counter (`count/max`, or `count` without a limit), total value.

The counter's colour follows the WIP state (domain.wip): at the limit `$tk-wip-limit`, over it `$tk-wip-over`
(marked more strongly: reversed and bold), below the minimum `$tk-wip-under`.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style

from tuikanban.domain.models import StageInfo
from tuikanban.domain.money import format_money
from tuikanban.domain.text import display
from tuikanban.domain.wip import WipState, counter_text, wip_state
from tuikanban.ui.board.card import fit

HEADER_H = 3  # name + counter, value, rule

COUNTER_STYLE = {
    WipState.OK: "wip-ok",
    WipState.UNDER: "wip-under",
    WipState.AT_LIMIT: "wip-limit",
    WipState.OVER: "wip-over",
}


def counter_label(count: int, stage: StageInfo) -> str:
    text = counter_text(count, stage.wip_max)
    state = wip_state(count, stage.wip_max, stage.wip_min)
    if state is WipState.OVER:
        return f" {text} over "
    return f" {text} "


def header_line(
    stage: StageInfo,
    line: int,
    width: int,
    *,
    count: int,
    value: int,
    currency: str,
    shown: int,
    filtered: bool,
    focused: bool,
    more_left: int,
    more_right: int,
    styles: dict[str, Style],
) -> list[Segment]:
    """One line (0, 1 or 2) of a column header `width` cells wide."""
    base = styles["header"]
    if width <= 0:
        return []
    if line == 0:
        label = counter_label(count, stage)
        state = wip_state(count, stage.wip_max, stage.wip_min)
        cstyle = styles[COUNTER_STYLE[state]]
        name_w = max(0, width - cell_len(label) - 1)
        name = fit(" " + display(stage.name), name_w)
        gap = " " * max(0, width - name_w - cell_len(label))
        label = label[: max(0, width - name_w)]
        return [Segment(name, styles["stage-focus" if focused else "stage"]), Segment(gap, base),
                Segment(label, cstyle)]
    if line == 1:
        left = " " + format_money(value, currency, compact=True)
        parts = []
        if filtered:
            parts.append(f"{shown} shown")
        if stage.wip_min is not None:
            parts.append(f"min {stage.wip_min}")
        right = " · ".join(parts) + " " if parts else ""
        lw = max(0, width - cell_len(right))
        return [Segment(fit(left, lw), styles["muted"]), Segment(right[: width - lw], styles["muted"])]
    char = "━" if focused else "─"
    rule_style = styles["rule-focus" if focused else "rule"]
    left = f"◂{more_left} " if more_left else ""
    right = f" {more_right}▸" if more_right else ""
    middle = max(0, width - cell_len(left) - cell_len(right))
    segs = []
    if left:
        segs.append(Segment(left[:width], styles["more"]))
    segs.append(Segment(char * middle, rule_style))
    if right and width - cell_len(left) - middle > 0:
        segs.append(Segment(right[: width - cell_len(left) - middle], styles["more"]))
    return segs
