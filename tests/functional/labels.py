"""Feasibility answers compared by their values: a repeat is labelled "same as an earlier
answer" (as a near-identical population is, so the two cannot be told apart), so two runs of
the same question agree on every value but not on that label."""

from __future__ import annotations

LABELS = ("same_as_earlier", "same_as_earlier_at")


def without_labels(data):
    """``data`` (a JSON answer) without the "same as an earlier answer" labels."""
    if isinstance(data, dict):
        return {k: without_labels(v) for k, v in data.items() if k not in LABELS}
    if isinstance(data, list):
        return [without_labels(v) for v in data]
    return data
