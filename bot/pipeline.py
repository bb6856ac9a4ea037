"""Builds the pipecat pipeline and worker for one call from the settings.

Only this module decides what answers a call; the server and the transport do not know.
"""

from __future__ import annotations

from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker

from bot.settings import Settings
from processors.echo import EchoProcessor
from transports.audiosocket.transport import AudioSocketParams, AudioSocketTransport


def transport_params(settings: Settings) -> AudioSocketParams:
    """Transport parameters for a call, from the settings."""
    audio = settings.audiosocket
    return AudioSocketParams(
        audio_in_sample_rate=audio.sample_rate,
        audio_out_sample_rate=audio.sample_rate,
        lead_frames=audio.output_lead_frames,
        read_timeout_secs=audio.read_timeout_secs,
    )


def build_worker(settings: Settings, transport: AudioSocketTransport) -> PipelineWorker:
    """Assemble the call's pipeline and wrap it in a worker with telephony-safe options.

    RTVI (a browser-client protocol) is off; the idle timeout is off because a call's life is
    owned by the caller's socket and the failure policy, not by a frame-activity timer.
    """
    rate = settings.audiosocket.sample_rate
    pipeline = Pipeline([transport.input(), EchoProcessor(), transport.output()])
    return PipelineWorker(
        pipeline,
        params=PipelineParams(audio_in_sample_rate=rate, audio_out_sample_rate=rate),
        enable_rtvi=False,
        idle_timeout_secs=None,
        cancel_on_idle_timeout=False,
        cancel_runner_on_idle_timeout=False,
        enable_turn_tracking=False,
        conversation_id=str(transport.call_id),
    )
