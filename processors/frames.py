"""Project frame types."""

from __future__ import annotations

from dataclasses import dataclass

from pipecat.frames.frames import SystemFrame


@dataclass
class WireAudioStartedFrame(SystemFrame):
    """Bot audio began leaving on the call's socket (the first frame after silence)."""


@dataclass
class WireAudioStoppedFrame(SystemFrame):
    """Bot audio stopped leaving on the call's socket (silence follows the last frame)."""
