"""The operations table: schema, rule-based proposal, review findings and user choices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinyml_autopilot.errors import UserError
from tinyml_autopilot.stages.data import profile as profiling
from tinyml_autopilot.stages.data import proposal
from tinyml_autopilot.stages.data.inputs import inspect_source
from tinyml_autopilot.stages.data.operations import code_for

from .conftest_data import messy_iris


@pytest.fixture(scope="module")
def iris_profile(tmp_path_factory) -> dict:
    """Profile of the messy iris table as the load step writes it (run here in-process on the CSV)."""
    import pandas as pd

    base = tmp_path_factory.mktemp("iris")
    raw = messy_iris(base / "iris.csv")
    source = inspect_source(raw, "species")
    pd.read_csv(raw, dtype={"species": str}, skipinitialspace=True).to_csv(base / "data.csv", index=False)
    return profiling.build(base / "data.csv", source)


def test_profile_finds_the_mess(iris_profile):
    roles = {c["name"]: (c["type"], c["role"]) for c in iris_profile["columns"]}
    assert roles["sample_id"][1] == "id" and roles["device"][1] == "constant"
    assert roles["petal_width"] == ("string-number", "feature")
    assert iris_profile["duplicate_rows"] == 5 and iris_profile["kind"] == "tabular"
    assert len(iris_profile["classes"]) > 3 and list(iris_profile["classes_normalised"]) == [
        "setosa", "versicolor", "virginica"]


def test_rules_propose_the_expected_table(iris_profile):
    table = proposal.propose(iris_profile)
    assert [o.operation for o in table.operations] == [
        "drop_columns", "coerce_numeric", "normalise_labels", "deduplicate", "impute", "split", "scale"]
    assert [o.step for o in table.operations] == list(range(1, 8))
    assert table.operations[0].columns == ["sample_id", "device"]
    assert proposal.review(table, iris_profile, offline=True) == []


def test_review_findings(iris_profile):
    table = proposal.parse(json.dumps([{"operation": "drop_columns", "columns": ["species", "nope"]},
                                       {"operation": "remove_outliers"}, {"operation": "scale"}]))
    checks = {f.check for f in proposal.review(table, iris_profile, offline=True)}
    assert checks == {"order", "columns", "operation"}
    assert not {f.check for f in proposal.review(table, iris_profile, offline=False)} & {"operation"}


def test_gaps_without_an_impute_step_and_a_window_longer_than_any_recording(iris_profile):
    table = proposal.parse(json.dumps([{"operation": "coerce_numeric", "columns": ["petal_width"]},
                                       {"operation": "split"}, {"operation": "scale"}]))
    found = proposal.review(table, iris_profile, offline=True)
    assert [f.check for f in found] == ["missing"] and "sepal_length" in found[0].message
    own = proposal.parse(json.dumps([{"operation": "fill_gaps_by_class"}, {"operation": "split"},
                                     {"operation": "scale"}]))
    assert proposal.review(own, iris_profile, offline=False) == []  # a step of the LLM's own may fill them
    series = {**iris_profile, "kind": "timeseries", "rows_per_recording": {"min": 40, "median": 50, "max": 60}}
    windowed = proposal.parse(json.dumps({"operations": [{"operation": "impute"}, {"operation": "window"},
                                                         {"operation": "split"}, {"operation": "scale"}],
                                          "window": 64}))
    assert [f.check for f in proposal.review(windowed, series, offline=True)] == ["window"]


def test_parse_accepts_yaml_and_rejects_bad_json():
    table = proposal.parse("operations:\n  - operation: Drop Duplicates\n  - operation: split\n")
    assert [o.operation for o in table.operations] == ["deduplicate", "split"]
    with pytest.raises(ValueError, match="not valid JSON"):
        proposal.parse('{"operations": [}')
    with pytest.raises(ValueError, match="schema"):
        proposal.parse('{"operations": [{"reason": "no name"}]}')


def test_user_choices(iris_profile, tmp_path: Path):
    table = proposal.propose(iris_profile)
    dropped = proposal.apply_user_choices(table, [3], None)
    assert "normalise_labels" not in [o.operation for o in dropped.operations]
    assert [o.step for o in dropped.operations] == list(range(1, 7))
    with pytest.raises(UserError, match="required"):
        proposal.apply_user_choices(proposal.propose(iris_profile), [7], None)
    with pytest.raises(UserError, match="no such step"):
        proposal.apply_user_choices(proposal.propose(iris_profile), [42], None)
    with pytest.raises(UserError, match="not found"):
        proposal.apply_user_choices(table, [], tmp_path / "missing.yaml")


def test_templates_carry_their_config():
    code = code_for("window", {"label": "g", "group": "s", "time": None, "channels": ["a"], "window": 8,
                               "stride": 4, "group_windows": False})
    assert "'window': 8" in code and "def run(in_dir, out_dir)" in code and '__name__ == "__main__"' in code
    compile(code, "window", "exec")


def test_interactive_edits_are_checked_as_they_are_typed(iris_profile, monkeypatch):
    from rich.console import Console
    from rich.prompt import Prompt

    answers = iter(["edit 1 sample_id", "edit 2 nosuch", "drop 7", "drop 9", "frobnicate", "drop 3", ""])
    monkeypatch.setattr(Prompt, "ask", lambda *a, **k: next(answers))
    console = Console(record=True, width=200)
    table = proposal.interactive_edit(proposal.propose(iris_profile), iris_profile, True, console)
    assert [o.operation for o in table.operations] == ["drop_columns", "coerce_numeric", "deduplicate", "impute",
                                                       "split", "scale"]
    assert table.operations[0].columns == ["sample_id"] and table.operations[1].columns == ["petal_width"]
    said = console.export_text()
    for refusal in ("not changed: [columns] step 2 (coerce_numeric) names unknown columns ['nosuch']",
                    "step 7 is required", "there is no step 9", "not understood: 'frobnicate'"):
        assert refusal in said
