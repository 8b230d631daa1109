"""A demo database that looks like a real sales team's: three pipelines, six months of history.

Pipelines, stages and deal types are made with the services; the deals are planned in memory (`planner`: a
seeded random.Random over the `catalogue`, time from the clock) and written in one transaction per pipeline by
`writer.write_plans`, which writes exactly the rows the deal services would (deal, `create`/`move`/`won`/`lost`/
`edit` events, one stay per stage visit with its outcome, activities and the deal's last activity), only much
faster than ~3,000 transactions. `build` decides where the demo goes and never overwrites other data.

Shape guaranteed for every seed (the tests check it): in SMB, Proposal is exactly at its WIP limit and
Qualified is below its minimum, and no other stage is at, over or under a limit; a few open deals in each
pipeline are stalled (over 2x their stage's expected days); some follow-up tasks are overdue.
"""

from __future__ import annotations

from tuikanban.services.demo.build import (
    DEFAULT_SEED,
    DemoError,
    DemoResult,
    build_demo,
    default_demo_path,
    inspect_target,
)
from tuikanban.services.demo.catalogue import PIPELINES, PipelineSpec, StageSpec
from tuikanban.services.demo.planner import plan_pipeline

__all__ = [
    "DEFAULT_SEED", "PIPELINES", "DemoError", "DemoResult", "PipelineSpec", "StageSpec", "build_demo",
    "default_demo_path", "inspect_target", "plan_pipeline",
]
