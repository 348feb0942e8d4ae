"""The engine's exception root. `app/` maps these to HTTP statuses in one place."""


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class ParameterError(EngineError, ValueError):
    """A parameter is of the wrong type or out of its allowed range.

    `field` names the parameter (e.g. ``"params.k"``), `allowed` states the range in words
    (e.g. ``"1 to n/2 = 60"``); ``str(err)`` is a sentence fit for an API error detail.
    """

    def __init__(self, field: str, allowed: str, message: str | None = None):
        self.field = field
        self.allowed = allowed
        super().__init__(message or f"'{field}' must be {allowed}")


class UnknownPresetError(EngineError, KeyError):
    """No preset has this id."""

    def __init__(self, preset_id: str):
        self.preset_id = preset_id
        super().__init__(preset_id)

    def __str__(self) -> str:
        return f"Unknown preset '{self.preset_id}'"


class PresetFileError(EngineError):
    """The preset catalogue (presets.yaml) is malformed; raised at load time, never per request."""


class RenderError(EngineError):
    """Rendering failed for a valid spec (a bug or a resource problem, not bad input)."""


class StyleFileError(EngineError):
    """The style catalogue (engine/data/styles.yaml) is malformed; raised at load time."""
