"""Synthetic multi-source customer data with ground truth, for demos, tests and benchmarks."""

from amigo.synth.options import GenerationSummary, NoiseOptions
from amigo.synth.service import generate

__all__ = ["GenerationSummary", "NoiseOptions", "generate"]
