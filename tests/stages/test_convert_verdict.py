"""The int8 accuracy verdict is judged on what the test set's size can show, and says that size."""

from __future__ import annotations

import math
import re

from tinyml_autopilot.stages.convert_checks import accuracy_verdict


def tail(correct: int, n: int, p: float) -> float:
    return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(correct + 1))


def test_one_sample_on_a_small_test_set_is_no_finding_and_the_size_is_said():
    findings, verdict = accuracy_verdict(1.0, 45 / 46, 46, 2.0)
    assert findings == []
    assert verdict.startswith("not shown beyond the tolerance of 2 points: 45 of 46 test samples right")
    assert "one sample is 2.2 points" in verdict and "p = 0.61" in verdict  # 1 - 0.98 ** 46


def test_a_real_drop_on_many_samples_is_a_finding_with_its_p_value():
    findings, verdict = accuracy_verdict(0.95, 0.90, 1000, 2.0)
    assert len(findings) == 1 and findings[0].check == "accuracy" and verdict == findings[0].message
    p = float(re.search(r"p = ([0-9.]+) on 1000 samples", verdict).group(1))
    assert p < 0.05 and math.isclose(p, tail(900, 1000, 0.93), abs_tol=5e-4)
    assert "5.0 points below the original" in verdict


def test_the_same_drop_on_few_samples_is_not_shown():
    findings, verdict = accuracy_verdict(0.95, 0.90, 20, 2.0)  # 18 of 20 against 19 of 20
    assert findings == [] and "20 test samples" in verdict
    assert math.isclose(float(re.search(r"p = ([0-9.]+)", verdict).group(1)), tail(18, 20, 0.93), abs_tol=5e-3)


def test_within_the_tolerance_and_without_data():
    assert accuracy_verdict(0.9, 0.9, 50, 2.0)[1].startswith("within the tolerance of 2 points: 45 of 50")
    assert accuracy_verdict(None, 0.9, 50, 2.0) == ([], None)
    assert accuracy_verdict(1.0, 0.98, 50, 0.0)[0], "a zero tolerance takes no drop"
