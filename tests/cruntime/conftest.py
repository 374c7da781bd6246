"""Fixtures for the C runtime tests: trained reference models built once per session."""

from __future__ import annotations

import pytest

pytest.importorskip("tensorflow", reason="tensorflow (the ml extra) is not installed")
pytest.importorskip("tflite_micro", reason="tflite-micro (the ml extra) is not installed")

from cruntime_helpers import Built  # noqa: E402

from tinyml_autopilot.cruntime.reference_models import cnn1d, tabular_mlp  # noqa: E402


@pytest.fixture(scope="session")
def mlp_iris(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return Built(tabular_mlp("iris", epochs=30), tmp_path_factory.mktemp("mlp_iris"))


@pytest.fixture(scope="session")
def mlp_wine(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return Built(tabular_mlp("wine", epochs=20), tmp_path_factory.mktemp("mlp_wine"))


@pytest.fixture(scope="session")
def cnn(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return Built(cnn1d(epochs=4), tmp_path_factory.mktemp("cnn1d"))


@pytest.fixture(scope="session")
def cnn_gap(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return Built(cnn1d(filters=12, epochs=6, gap=True), tmp_path_factory.mktemp("cnn1d_gap"))
