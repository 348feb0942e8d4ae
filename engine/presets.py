"""The preset catalogue: curated moods, genres, scenes and experimental textures.

Presets live in the repo's top-level ``presets.yaml``. Every preset is validated at load time
with the same rules as a request (``engine.spec.validate_geometry`` and ``TEMPO_RANGE``), so a
bad file fails loudly at start-up with a ``PresetFileError`` naming the preset and the field,
never at request time.
"""
from __future__ import annotations

import os
import pathlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from engine.errors import ParameterError, PresetFileError, UnknownPresetError
from engine.spec import GEOMETRY_FIELDS, TEMPO_RANGE, validate_geometry
from engine.styles import style_catalog

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  #: libyaml when available (5-10x faster)

FAMILIES = ("mood", "genre", "scene", "experimental")
MIN_TAGS = 5
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_REQUIRED = ("id", "name", "description", "tags", "family", "style", "params", "tempo")


@dataclass(frozen=True)
class Preset:
    """One curated preset.

    id: slug (``"chase-scene"``). name: display name. description: one evocative sentence.
    tags: at least five words people use for it. family: mood | genre | scene | experimental.
    style: id of the style it plays in (engine/data/styles.yaml).
    params: all six geometry fields (validated, completed). tempo: suggested BPM (40..300).
    """

    id: str
    name: str
    description: str
    tags: tuple[str, ...]
    family: str
    style: str
    params: dict[str, Any] = field(hash=False)
    tempo: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: id, name, description, tags (list), family, style, params, tempo."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "tags": list(self.tags),
            "family": self.family,
            "style": self.style,
            "params": dict(self.params),
            "tempo": self.tempo,
        }


class PresetCatalog:
    """An ordered, id-indexed collection of presets (file order is kept everywhere).

    Derived indexes (e.g. the prompt resolver's) may be cached on the instance in ``cache``;
    the presets themselves never change after construction.
    """

    def __init__(self, presets: Sequence[Preset]):
        self.presets: tuple[Preset, ...] = tuple(presets)
        self.cache: dict[str, Any] = {}
        self._by_id: dict[str, Preset] = {}
        for preset in self.presets:
            if preset.id in self._by_id:
                raise PresetFileError(f"preset '{preset.id}': duplicate id")
            self._by_id[preset.id] = preset

    def get(self, preset_id: str) -> Preset:
        """The preset with this id; raises UnknownPresetError."""
        try:
            return self._by_id[preset_id]
        except (KeyError, TypeError):
            raise UnknownPresetError(str(preset_id)) from None

    def __contains__(self, preset_id: object) -> bool:
        return preset_id in self._by_id

    def __iter__(self) -> Iterator[Preset]:
        return iter(self.presets)

    def __len__(self) -> int:
        return len(self.presets)

    def __repr__(self) -> str:
        return f"PresetCatalog({len(self.presets)} presets)"

    def ids(self) -> list[str]:
        """All preset ids in file order."""
        return [p.id for p in self.presets]


def default_presets_path() -> pathlib.Path:
    """The repo's top-level presets.yaml."""
    return pathlib.Path(__file__).resolve().parents[1] / "presets.yaml"


def _fail(label: str, fieldname: str, problem: str) -> PresetFileError:
    return PresetFileError(f"preset {label}: field '{fieldname}' {problem}")


def preset_from_dict(raw: Any, index: int) -> Preset:
    """Build and validate one preset from its YAML mapping; raises PresetFileError."""
    label = f"#{index}"
    if not isinstance(raw, dict):
        raise PresetFileError(f"preset {label}: must be a mapping, got {type(raw).__name__}")
    if isinstance(raw.get("id"), str):
        label = f"'{raw['id']}' (#{index})"
    for name in _REQUIRED:
        if name not in raw or raw[name] is None:
            raise _fail(label, name, "is required")
    unknown = sorted(set(raw) - set(_REQUIRED))
    if unknown:
        raise _fail(label, unknown[0], "is not a preset field")
    pid = raw["id"]
    if not isinstance(pid, str) or not _SLUG.match(pid):
        raise _fail(label, "id", "must be a lower-case slug like 'chase-scene'")
    for name in ("name", "description"):
        if not isinstance(raw[name], str) or not raw[name].strip():
            raise _fail(label, name, "must be a non-empty string")
    tags = raw["tags"]
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        raise _fail(label, "tags", "must be a list of non-empty strings")
    if len(set(tags)) < MIN_TAGS:
        raise _fail(label, "tags", f"must hold at least {MIN_TAGS} distinct tags")
    if raw["family"] not in FAMILIES:
        raise _fail(label, "family", "must be one of " + ", ".join(FAMILIES))
    if raw["style"] not in style_catalog():
        raise _fail(label, "style", "must be one of " + ", ".join(style_catalog().ids()))
    params = raw["params"]
    if not isinstance(params, dict):
        raise _fail(label, "params", "must be a mapping of geometry fields")
    missing = [f for f in GEOMETRY_FIELDS if f not in params]
    if missing:
        raise _fail(label, "params." + missing[0], "is required")
    try:
        geometry = validate_geometry(params, prefix="params.")
    except ParameterError as err:
        raise _fail(label, err.field, f"must be {err.allowed}") from None
    tempo = raw["tempo"]
    lo, hi = TEMPO_RANGE
    if isinstance(tempo, bool) or not isinstance(tempo, (int, float)) or not lo <= tempo <= hi:
        raise _fail(label, "tempo", f"must be a number from {lo:g} to {hi:g}")
    return Preset(
        id=pid,
        name=raw["name"].strip(),
        description=raw["description"].strip(),
        tags=tuple(t.strip() for t in tags),
        family=raw["family"],
        style=raw["style"],
        params={f: geometry[f] for f in GEOMETRY_FIELDS},
        tempo=float(tempo),
    )


def load_presets(path: str | os.PathLike[str] | None = None) -> PresetCatalog:
    """Load and validate every preset in a YAML file (default: ``default_presets_path()``).

    The file holds a mapping with a ``presets`` list (or a bare list). Any problem raises
    PresetFileError naming the preset and the field.
    """
    path = pathlib.Path(path) if path is not None else default_presets_path()
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_LOADER)
    except OSError as err:
        raise PresetFileError(f"cannot read preset file {path}: {err}") from None
    except yaml.YAMLError as err:
        raise PresetFileError(f"preset file {path} is not valid YAML: {err}") from None
    if isinstance(data, dict):
        data = data.get("presets")
    if not isinstance(data, list) or not data:
        raise PresetFileError(f"preset file {path}: expected a non-empty 'presets' list")
    return PresetCatalog([preset_from_dict(raw, i) for i, raw in enumerate(data)])
