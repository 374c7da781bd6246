"""Static checks of an Arduino sketch against its model, board and feature spec, on a C++ parser."""

from .contract import CHECKS, check_contract, detect_runtime, lint_folder
from .facts import FeatureFacts, ModelFacts, load_facts, load_feature_spec, measure_arena
from .reader import Sketch, read_sketch
from .types import ContractReport

__all__ = ["CHECKS", "ContractReport", "FeatureFacts", "ModelFacts", "Sketch", "check_contract", "detect_runtime",
           "lint_folder", "load_facts", "load_feature_spec", "measure_arena", "read_sketch"]
