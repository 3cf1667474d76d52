"""The synthetic Midlands region generator (``phta synth``); see docs/synthetic-region.md."""

from phta.cdm.synth.generate import MANIFEST, SynthError, SynthResult, generate

__all__ = ["MANIFEST", "SynthError", "SynthResult", "generate"]
