"""Validate documents against the GA4GH Beacon v2 JSON schemas in the shared reference directory,
resolving every ``$ref`` (relative or the schemas' own raw.githubusercontent.com addresses) to the
local files: a reference to anything else fails, so validation never fetches from the network."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT202012

ROOT = Path("/work/shared/reference/beacon-v2")
BASE = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/"


def _retrieve(uri: str) -> Resource:
    if not uri.startswith(BASE):
        raise NoSuchResource(ref=uri)
    path = (ROOT / uri[len(BASE):]).resolve()
    if ROOT not in path.parents or not path.is_file():
        raise NoSuchResource(ref=uri)
    return Resource.from_contents(json.loads(path.read_text(encoding="utf-8")), default_specification=DRAFT202012)


@cache
def validator(schema: str) -> Draft202012Validator:
    """A validator for ``schema``, a path under framework/json (e.g. responses/beaconCountResponse.json)."""
    uri = BASE + "framework/json/" + schema
    registry = Registry(retrieve=_retrieve)  # type: ignore[call-arg]
    return Draft202012Validator({"$ref": uri}, registry=registry)


def errors(document: dict, schema: str) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(schema).iter_errors(document)]
