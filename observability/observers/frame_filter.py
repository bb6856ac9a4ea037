"""Keeps the frames no observer of ours reads away from the observers' queues.

pipecat's ``WorkerObserver`` hands every push of every frame to each observer through an
asyncio queue and a task of the observer's own: a caller's audio frame, pushed ten times on
its way down the pipeline fifty times a second, costs that many queue puts and task wake-ups
per observer. Our observers (the call record and the stage watchdog) read no caller audio,
no ``UserSpeakingFrame``/``BotSpeakingFrame`` heartbeats, and TTS audio only where it first
appears, and none of them reads ``on_process_frame`` (reported by every processor for
every frame it takes). :func:`install` swaps the worker's observer proxy for
:class:`FilteringWorkerObserver`, which drops those before they are queued; everything else
reaches the observers as before.
"""

from __future__ import annotations

from pipecat.frames.frames import (
    BotSpeakingFrame,
    InputAudioRawFrame,
    OutputAudioRawFrame,
    UserSpeakingFrame,
)
from pipecat.observers.base_observer import FrameProcessed, FramePushed
from pipecat.pipeline.worker import PipelineWorker
from pipecat.pipeline.worker_observer import WorkerObserver

NEVER_OBSERVED = (InputAudioRawFrame, UserSpeakingFrame, BotSpeakingFrame)


class FilteringWorkerObserver(WorkerObserver):
    """``WorkerObserver`` minus caller audio, heartbeats, repeated bot audio, process reports."""

    async def on_push_frame(self, data: FramePushed):
        """Queue the push for the observers unless none of them reads it."""
        frame = data.frame
        if isinstance(frame, NEVER_OBSERVED):
            return
        if isinstance(frame, OutputAudioRawFrame) and frame.id in self._frames_pushed:
            return  # bot audio counts where it first appears, not at every hop after
        await super().on_push_frame(data)

    async def on_process_frame(self, data: FrameProcessed):
        """Nothing: none of our observers reads frames as processors take them."""


def install(worker: PipelineWorker) -> None:
    """Give ``worker`` the filtering proxy (before it runs), with the same observers."""
    current = worker._observer  # pipecat 1.14 builds it in the constructor, no hook
    worker._observer = FilteringWorkerObserver(observers=current._observers)
