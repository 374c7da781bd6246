"""`sketch --check` on several sketch folders: one row per sketch in check_table.csv / .json."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from ...errors import UserError
from ..base import StageContext, StageResult
from .inputs import Inputs

COLUMNS = ["sketch", "findings", "static", "compile", "host_build", "host_build_error", "run", "run_reason",
           "agree", "predictions", "readings", "arena_used_bytes", "m4_run", "m4_reason", "m4_flash_bytes",
           "m4_ram_bytes", "m4_arena_used_bytes", "m4_instructions_per_inference", "library", "first_finding"]


def table_row(name: str, verdicts: dict[str, Any], findings: list) -> dict[str, Any]:
    checks = verdicts.get("checks", {})
    host, run, m4 = verdicts.get("host_build", {}), verdicts.get("run", {}), verdicts.get("m4_run", {})
    return {"sketch": name, "findings": len(findings),
            "static": "failed" if any(v.get("status") == "failed" for v in checks.values()) else "passed",
            "compile": verdicts.get("compile", {}).get("status"), "host_build": host.get("status"),
            "host_build_error": (host.get("errors") or [""])[0] if host.get("status") == "failed" else "",
            "run": run.get("status"), "run_reason": run.get("reason", ""), "agree": run.get("agree"),
            "predictions": run.get("predictions"), "readings": run.get("readings"),
            "arena_used_bytes": run.get("arena_used_bytes"), "m4_run": m4.get("status"),
            "m4_reason": m4.get("reason", ""), "m4_flash_bytes": m4.get("flash_bytes"),
            "m4_ram_bytes": m4.get("ram_bytes"), "m4_arena_used_bytes": m4.get("arena_used_bytes"),
            "m4_instructions_per_inference": m4.get("instructions_per_inference"),
            "library": run.get("library") or host.get("library"),
            "first_finding": str(findings[0]).splitlines()[0][:200] if findings else ""}


def check_many(ctx: StageContext, inp: Inputs, folders: list[Path], runtime: str | None = None,
               unspecified: bool = False) -> StageResult:
    from . import NO_SPEC, check_sketch

    if not folders:
        raise UserError("--check matched no sketch folder: give folders or a glob such as 'sketches/*'")
    rows, names = [], set()
    for folder in folders:
        name = Path(folder).resolve().name
        slot = name if name not in names else f"{name}_{len(names)}"
        names.add(slot)
        workdir = ctx.run.path("check", re.sub(r"[^\w.-]", "_", slot), ".keep").parent
        try:
            ev, findings = check_sketch(Path(folder), inp, workdir, runtime,
                                        no_simulation=NO_SPEC if unspecified else None)
        except UserError as err:
            rows.append({"sketch": slot, "first_finding": str(err), "findings": 1})
            continue
        rows.append(table_row(slot, ev.verdicts(), findings))
        ctx.console.print(f"{slot}: run {rows[-1]['run']} {rows[-1]['run_reason']}".rstrip(), markup=False,
                          highlight=False)
    ctx.run.write_json("check_table.json", rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    ctx.run.write_text("check_table.csv", buf.getvalue())
    agreed = sum(1 for r in rows if r.get("run") == "passed")
    figures = {"sketches": len(rows), "ran_and_agreed": agreed,
               "ran_and_disagreed": sum(1 for r in rows if r.get("run") == "failed"),
               "not_built": sum(1 for r in rows if r.get("host_build") == "failed"),
               "table": str(ctx.run.path("check_table.csv"))}
    status = "ok" if agreed == len(rows) else "failed"
    ctx.run.finish(status, **figures)
    return StageResult("sketch", status, ctx.run.dir, figures,
                       f"{len(rows)} sketches: {agreed} ran and agreed with the host model; table in "
                       f"{ctx.run.path('check_table.csv')}")
