"""Operational endpoints: health for load balancers and the demo script."""

from __future__ import annotations

from fastapi import APIRouter

from phta import __version__

router = APIRouter(tags=["system"])


@router.get("/health", summary="Liveness check")
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}
