"""Turn what a client sent (prompt and/or params, tempo, duration, format) into a RenderSpec.

Precedence (API.md Part B): a prompt or preset picks the starting geometry and tempo; every
field given in `params` overrides it; missing geometry takes GEOMETRY_DEFAULTS; an explicit
`tempo` always wins over a tempo the prompt implies; with params alone the tempo is 120 BPM.

Style: an explicit `style` > the style the prompt's words name > the matched preset's style >
None, which leaves the choice to the geometry (`engine.styles.style_for_geometry`, applied by
`RenderSpec.style_id`). An explicit style changes the idiom only, not the tempo.
"""
from __future__ import annotations

from typing import Any

from engine.errors import EngineError
from engine.keys import parse_key
from engine.presets import PresetCatalog
from engine.prompt import resolve_prompt
from engine.spec import (
    DEFAULT_DURATION,
    DEFAULT_FORMAT,
    DEFAULT_TEMPO,
    RenderSpec,
    validate_geometry,
)
from engine.styles import style_for_geometry


class MissingInputError(EngineError):
    """Neither a prompt nor params (nor a preset) was given."""

    def __init__(self) -> None:
        super().__init__("Provide either 'prompt' or 'params'")


def resolve_request(
    *,
    catalog: PresetCatalog,
    prompt: str | None = None,
    params: dict[str, Any] | None = None,
    preset: str | None = None,
    tempo: float | None = None,
    duration_seconds: float | None = None,
    format: str | None = None,
    style: str | None = None,
    key: str | None = None,
    variation: int | None = None,
    loop: bool | None = None,
) -> RenderSpec:
    """Resolve a request to a validated, canonical RenderSpec.

    prompt: free text; params: geometry overrides; preset: a preset id (CLI's --preset);
    tempo: BPM or None; duration_seconds: seconds or None (30); format: wav|mp3|midi or None;
    style: a style id, overriding the preset's (None: the preset's, else the geometry's);
    key: a key name ("D minor"): sets the tonic (psi becomes the phase that names it) and the
    mode (xi's sign follows it); variation: another take, 0 the first; loop: a seamless loop of
    whole bars (None: False).
    Raises MissingInputError, ParameterError (names the field and range) or UnknownPresetError.
    """
    if prompt is None and params is None and preset is None:
        raise MissingInputError()
    base: dict[str, Any] = {}
    implied_tempo: float | None = None
    matched: str | None = None
    implied_style: str | None = None
    if preset is not None:
        chosen = catalog.get(preset)
        base, implied_tempo, matched, implied_style = dict(chosen.params), chosen.tempo, chosen.id, chosen.style
    if prompt is not None:
        resolution = resolve_prompt(prompt, catalog)
        base = {**base, **resolution.params}
        implied_tempo = resolution.tempo if resolution.tempo is not None else implied_tempo
        matched = resolution.preset or matched
        implied_style = resolution.style or implied_style
    overrides = {key: value for key, value in (params or {}).items() if value is not None}
    if "n" in overrides and "k" not in overrides and "k" in base:
        base.pop("k")  # a new n with the old k may be out of range: k follows n's default
    geometry = validate_geometry({**base, **overrides})
    if key is not None:
        named = parse_key(key)
        if style is None and implied_style is None:  # the geometry's style, before the key flips xi
            style = style_for_geometry(omega=geometry["omega"], xi=geometry["xi"],
                                       lock_psi_tau=geometry["lock_psi_tau"])
        geometry["psi"] = named.psi
        geometry["xi"] = -abs(geometry["xi"]) if named.minor else abs(geometry["xi"])
    return RenderSpec(
        **geometry,
        tempo=tempo if tempo is not None else (implied_tempo if implied_tempo is not None else DEFAULT_TEMPO),
        duration_seconds=duration_seconds if duration_seconds is not None else DEFAULT_DURATION,
        format=format if format is not None else DEFAULT_FORMAT,
        preset=matched,
        key=key,
        variation=variation if variation is not None else 0,
        loop=loop if loop is not None else False,
        style=style if style is not None else implied_style,
    )
