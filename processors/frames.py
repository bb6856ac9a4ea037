"""Project frame types."""

from __future__ import annotations

from dataclasses import dataclass

from pipecat.frames.frames import SystemFrame


@dataclass
class WireAudioStartedFrame(SystemFrame):
    """Bot audio began leaving on the call's socket (the first frame after silence).

    Parameters:
        plays_in_secs: Audio already sent ahead of this frame: the caller hears the bot
            this much later than the frame left.
    """

    plays_in_secs: float = 0.0


@dataclass
class WireAudioStoppedFrame(SystemFrame):
    """Bot audio stopped leaving on the call's socket (silence follows the last frame).

    Parameters:
        plays_in_secs: Bot audio already sent and still to play: the caller hears the bot
            stop this much later.
    """

    plays_in_secs: float = 0.0
