"""Silero voice activity detection for many calls in one process, on the event loop.

Two pieces: :class:`PhoneVADAnalyzer` (the analysis) and :class:`PhoneVADProcessor` (where it
runs in the pipeline).

pipecat's ``SileroVADAnalyzer`` is built for one conversation per process: every analyzer
opens its own ONNX session (~50-60 ms of CPU on the event loop when a call starts, freezing
every other call's audio), runs each 32 ms window on a thread of its own (one OS thread per
call and a thread-pool round trip per frame), and measures loudness with a full ITU-R BS.1770
meter over 400 ms of audio for every window. :class:`PhoneVADAnalyzer` is the same decision
made cheaply:

- one ONNX session per process (:func:`silero_session`, loaded at start-up); Silero keeps its
  recurrent state in the inputs and outputs, so each call passes its own state through the
  shared session;
- windows are scored on the loop instead of on a thread, and the windows of all the calls
  of a process that arrive within a few milliseconds are scored in one ONNX run
  (:class:`SileroBatcher`: ~50 us a window instead of ~130 us);
- loudness is the mean energy of the last 400 ms kept as a running sum per window, with
  BS.1770's absolute gate (quieter than -70 LUFS reads 0), mapped to 0..1 as pipecat does;
  without the K-weighting filter it reads within a few hundredths of pipecat's value on
  phone speech (``tests/unit/processors/test_phone_vad.py`` compares the two);
- the model's state is reset during clear non-speech every 2 s of audio, as pipecat does.

The speaking/quiet state machine (start and stop windows, confidence and volume thresholds)
is pipecat's own ``VADAnalyzer._run_analyzer``, unchanged.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.resources
import math
from collections import deque

import numpy as np
import onnxruntime
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    SpeechControlParamsFrame,
    StartFrame,
    UserMuteStoppedFrame,
    VADParamsUpdateFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor, FrameProcessorSetup

MODEL_PACKAGE, MODEL_FILE = "pipecat.audio.vad.data", "silero_vad.onnx"
VOLUME_WINDOW_SECS = 0.4  # pipecat's loudness window
ABSOLUTE_GATE_LUFS = -70.0  # BS.1770: blocks quieter than this do not count
LUFS_FLOOR, LUFS_CEILING = -110.0, -10.0  # pipecat maps this range to 0..1
RESET_INTERVAL_SECS = 2.0  # pipecat's model reset cadence, during clear non-speech
RESET_MAX_CONFIDENCE = 0.1
RESET_LOW_CONFIDENCE_WINDOWS = 5


@functools.cache
def silero_session() -> onnxruntime.InferenceSession:
    """The process's one Silero ONNX session (created on first use; ~60 ms)."""
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    path = importlib.resources.files(MODEL_PACKAGE).joinpath(MODEL_FILE)
    return onnxruntime.InferenceSession(
        str(path), providers=["CPUExecutionProvider"], sess_options=options
    )


def loudness_volume(mean_square: float) -> float:
    """0..1 volume of audio with this mean square (of samples scaled to -1..1)."""
    if mean_square <= 0:
        return 0.0
    lufs = -0.691 + 10 * math.log10(mean_square)
    if lufs < ABSOLUTE_GATE_LUFS:
        return 0.0
    return min(1.0, max(0.0, (lufs - LUFS_FLOOR) / (LUFS_CEILING - LUFS_FLOOR)))


class SileroBatcher:
    """Scores the windows of many calls in one ONNX run.

    One Silero window costs ~130 us on its own and ~50 us in a batch of five or more (the
    recurrent state is an input, so each call's own state rides along). A window waits at
    most ``max_wait`` seconds for company, which is what VAD decisions are delayed by.

    Args:
        max_wait: Seconds the first window of a batch waits for others.
        max_batch: Windows that make a batch go at once.
    """

    def __init__(self, *, max_wait: float = 0.01, max_batch: int = 32) -> None:
        self._max_wait = max_wait
        self._max_batch = max_batch
        self._pending: dict[int, list[tuple[np.ndarray, np.ndarray, asyncio.Future]]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self.runs = 0
        self.windows = 0

    async def score(self, x: np.ndarray, state: np.ndarray, rate: int) -> tuple[float, np.ndarray]:
        """The speech probability of window ``x`` and the call's next state."""
        future = asyncio.get_running_loop().create_future()
        batch = self._pending.setdefault(rate, [])
        batch.append((x, state, future))
        if len(batch) >= self._max_batch:
            self._run(rate)
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._max_wait, self._run_all)
        return await future

    def _run_all(self) -> None:
        self._timer = None
        for rate in list(self._pending):
            self._run(rate)

    def _run(self, rate: int) -> None:
        batch = self._pending.pop(rate, [])
        if not batch:
            return
        xs = np.concatenate([x for x, _, _ in batch], axis=0)
        states = np.concatenate([state for _, state, _ in batch], axis=1)
        try:
            out, new = silero_session().run(
                None, {"input": xs, "state": states, "sr": np.array(rate, np.int64)}
            )
        except Exception as exc:  # every call waiting on this batch hears of it
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.runs += 1
        self.windows += len(batch)
        confidences = out[:, 0].tolist()
        for i, (_, _, future) in enumerate(batch):
            if not future.done():  # a call that ended meanwhile no longer waits
                # A view: each run's output is a new array that nothing writes to.
                future.set_result((confidences[i], new[:, i : i + 1, :]))


@functools.cache
def shared_batcher(max_wait: float) -> SileroBatcher:
    """The process's batcher for windows that may wait ``max_wait`` seconds."""
    return SileroBatcher(max_wait=max_wait)


class PhoneVADAnalyzer(VADAnalyzer):
    """Silero VAD on a shared ONNX session, on the event loop; for 8 or 16 kHz phone audio.

    Args:
        sample_rate: 8000 or 16000 (None: the pipeline's rate, set at start).
        params: Confidence, start/stop times and minimum volume.
        batcher: Scores this call's windows together with other calls' (None: one by one).
    """

    def __init__(
        self,
        *,
        sample_rate: int | None = None,
        params: VADParams | None = None,
        batcher: SileroBatcher | None = None,
    ):
        super().__init__(sample_rate=sample_rate, params=params)
        self._session = silero_session()
        self._batcher = batcher
        # (confidence, mean square) of windows scored, waiting for the state machine
        self._scores: deque[tuple[float, float]] = deque()
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context: np.ndarray | None = None  # the previous window's tail (None: silence)
        self._energies: deque[float] = deque()
        self._energy_sum = 0.0
        self._window_count = 0  # windows held by the loudness window when full
        self._since_reset = 0
        self._low_windows = 0

    def set_sample_rate(self, sample_rate: int) -> None:
        """Set the rate (8000 or 16000 Hz)."""
        rate = self._init_sample_rate or sample_rate
        if rate not in (8000, 16000):
            raise ValueError(f"Silero VAD needs 8000 or 16000 Hz audio, not {rate}")
        super().set_sample_rate(sample_rate)
        self._window_count = math.ceil(VOLUME_WINDOW_SECS * rate / self.num_frames_required())
        self._reset_model()
        self._energies.clear()
        self._energy_sum = 0.0

    def num_frames_required(self) -> int:
        """Samples per scored window: 256 at 8 kHz, 512 at 16 kHz."""
        return 512 if self.sample_rate == 16000 else 256

    async def analyze_audio(self, buffer: bytes) -> VADState:
        """Score the new windows, then run pipecat's speaking/quiet state machine over them."""
        step = self._vad_frames_num_bytes
        pending = len(self._vad_buffer) + len(buffer)
        if pending >= step:
            audio = bytes(self._vad_buffer) + buffer
            for start in range(0, pending - step + 1, step):
                self._scores.append(await self._score(audio[start : start + step]))
        return self._run_analyzer(buffer)

    async def _score(self, window: bytes) -> tuple[float, float]:
        """The window's speech probability and mean square, its samples converted once."""
        ints = np.frombuffer(window, dtype=np.int16)
        context = 64 if self.sample_rate == 16000 else 32
        x = np.empty((1, context + len(ints)), dtype=np.float32)
        x[0, :context] = 0.0 if self._context is None else self._context
        samples = x[0, context:]
        np.multiply(ints, 1 / 32768, out=samples, casting="unsafe")  # exact: a power of two
        self._context = x[0, -context:]
        mean_square = float(np.dot(samples, samples)) / len(samples)
        if self._batcher is not None:
            confidence, self._state = await self._batcher.score(x, self._state, self.sample_rate)
        else:
            out, self._state = self._session.run(
                None, {"input": x, "state": self._state, "sr": np.array(self.sample_rate, np.int64)}
            )
            confidence = float(out[0][0])
        return confidence, mean_square

    def voice_confidence(self, buffer: bytes) -> float:
        """The window's speech probability (scored just before); keeps its energy for volume."""
        confidence, mean_square = self._scores.popleft()
        self._keep_energy(mean_square)
        self._maybe_reset(confidence)
        return confidence

    def _get_smoothed_volume(self, audio: bytes) -> float:
        """The loudness of the last 400 ms (0 until that much audio has been heard)."""
        if len(self._energies) < self._window_count:
            volume = 0.0
        else:
            volume = loudness_volume(self._energy_sum / len(self._energies))
        return self._prev_volume + self._smoothing_factor * (volume - self._prev_volume)

    def _keep_energy(self, mean_square: float) -> None:
        self._energies.append(mean_square)
        self._energy_sum += mean_square
        if len(self._energies) > self._window_count:
            self._energy_sum -= self._energies.popleft()
        if self._energy_sum < 0:  # float drift on long silences
            self._energy_sum = 0.0

    def _maybe_reset(self, confidence: float) -> None:
        self._since_reset += 1
        self._low_windows = self._low_windows + 1 if confidence < RESET_MAX_CONFIDENCE else 0
        due = self._since_reset * self.num_frames_required() >= RESET_INTERVAL_SECS * (
            self.sample_rate
        )
        if (
            due
            and self._vad_state == VADState.QUIET
            and self._low_windows >= RESET_LOW_CONFIDENCE_WINDOWS
        ):
            self._reset_model()

    def _reset_model(self) -> None:
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = None
        self._since_reset = 0


class PhoneVADProcessor(FrameProcessor):
    """Runs VAD on the caller's audio as it arrives, before speech-to-text.

    The transport hands the caller's audio to :meth:`hear_caller` as bytes
    (``AudioSocketInputTransport.send_audio_to``): no ``InputAudioRawFrame`` is built or pushed
    through pipecat's frame machinery fifty times a second per call. Audio that does come as
    frames (another transport, tests) is heard the same way and passed on. pipecat can run VAD
    inside the user aggregator, but then every caller frame has to travel through
    speech-to-text and the processors after it to get there.

    It pushes what pipecat's ``VADProcessor`` pushes on a change of state
    (``VADUserStartedSpeakingFrame`` and ``VADUserStoppedSpeakingFrame``, both ways, and
    ``SpeechControlParamsFrame`` at the start), but not its ``UserSpeakingFrame`` heartbeat:
    that crosses every processor five times a second while the caller talks, and nothing in
    this service reads it (pipecat's idle timeout, which is off, and its wake-phrase strategy
    do). pipecat's ``VADController`` is not used: its idle timer forces a stop when audio stops
    coming, which cannot happen here (the transport fills gaps with silence).

    One difference from VAD in the aggregator: it also hears the caller while the user
    aggregator has them muted (during the greeting), so when the mute lifts in the middle of
    the caller's speech it announces the speech again, for the aggregator to start a turn.

    Args:
        analyzer: The VAD analyzer (a :class:`PhoneVADAnalyzer`).
    """

    def __init__(self, analyzer: VADAnalyzer, **kwargs):
        super().__init__(enable_direct_mode=True, **kwargs)
        self._analyzer = analyzer
        self._state = VADState.QUIET
        self._listening = False

    async def setup(self, setup: FrameProcessorSetup):
        """Set the analyzer to the pipeline's input rate."""
        await super().setup(setup)
        self._analyzer.set_sample_rate(setup.audio_in_sample_rate)

    async def cleanup(self):
        """Release the analyzer."""
        await super().cleanup()
        await self._analyzer.cleanup()

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        """Pass the frame on; hear audio frames; follow the analyzer's parameters."""
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, StartFrame):
            self._listening = True
            await self.broadcast_frame(SpeechControlParamsFrame, vad_params=self._analyzer.params)
        elif isinstance(frame, EndFrame | CancelFrame):
            self._listening = False
        elif isinstance(frame, InputAudioRawFrame):
            await self.hear_caller(frame.audio)
        elif isinstance(frame, VADParamsUpdateFrame):
            self._analyzer.set_params(frame.params)
            await self.broadcast_frame(SpeechControlParamsFrame, vad_params=frame.params)
        elif isinstance(frame, UserMuteStoppedFrame) and self._state == VADState.SPEAKING:
            await self._announce_start()

    async def hear_caller(self, pcm: bytes) -> None:
        """Analyse the caller's audio; announce when they start or stop speaking."""
        if not self._listening:
            return
        state = await self._analyzer.analyze_audio(pcm)
        if state == self._state or state in (VADState.STARTING, VADState.STOPPING):
            return
        self._state = state
        if state == VADState.SPEAKING:
            await self._announce_start()
        else:
            await self.broadcast_frame(
                VADUserStoppedSpeakingFrame, stop_secs=self._analyzer.params.stop_secs
            )

    async def _announce_start(self) -> None:
        await self.broadcast_frame(
            VADUserStartedSpeakingFrame, start_secs=self._analyzer.params.start_secs
        )
