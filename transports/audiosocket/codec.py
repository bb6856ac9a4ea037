"""Asterisk AudioSocket wire format: message types, an incremental decoder and an encoder.

Every message is a 1-byte kind, a 2-byte big-endian payload length and the payload. Asterisk
opens with a UUID message, then sends 20 ms signed-linear 16-bit little-endian mono audio frames,
DTMF digits and error codes; it ends a call by closing the socket rather than sending a hangup.

This module is pure: no I/O, no asyncio, no logging. Errors never quote payload bytes, which may
be caller audio or keypad digits.
"""

import struct
import uuid
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import NoReturn


class Kind(IntEnum):
    """The first byte of every message."""

    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO_8K = 0x10
    AUDIO_12K = 0x11
    AUDIO_16K = 0x12
    AUDIO_24K = 0x13
    AUDIO_32K = 0x14
    AUDIO_44K = 0x15
    AUDIO_48K = 0x16
    AUDIO_96K = 0x17
    AUDIO_192K = 0x18
    ERROR = 0xFF


AUDIO_RATES: dict[Kind, int] = {
    Kind.AUDIO_8K: 8000,
    Kind.AUDIO_12K: 12000,
    Kind.AUDIO_16K: 16000,
    Kind.AUDIO_24K: 24000,
    Kind.AUDIO_32K: 32000,
    Kind.AUDIO_44K: 44100,
    Kind.AUDIO_48K: 48000,
    Kind.AUDIO_96K: 96000,
    Kind.AUDIO_192K: 192000,
}
HEADER_SIZE = 3
DEFAULT_MAX_PAYLOAD = 16384  # audio bytes; 192 kHz * 40 ms * 2 bytes = 15360 fits
MAX_WIRE_PAYLOAD = 0xFFFF  # the length field is 16 bits
DTMF_DIGITS = frozenset("0123456789*#ABCD")

_KIND_BY_RATE = {rate: kind for kind, rate in AUDIO_RATES.items()}
_KIND_BY_BYTE = {int(kind): kind for kind in Kind}
_FIXED_SIZES = {Kind.HANGUP: 0, Kind.UUID: 16, Kind.DTMF: 1, Kind.ERROR: 1}
_HEADER = struct.Struct(">BH")


def audio_kind(rate: int) -> Kind:
    """Return the audio message kind for a sample rate.

    Args:
        rate: Sample rate in Hz, one of the values of `AUDIO_RATES`.

    Raises:
        ValueError: The rate has no AudioSocket kind.
    """
    try:
        return _KIND_BY_RATE[rate]
    except KeyError:
        supported = ", ".join(map(str, _KIND_BY_RATE))
        raise ValueError(f"unsupported audio rate {rate} Hz (supported: {supported})") from None


@dataclass(frozen=True, slots=True)
class Hangup:
    """The sender ends the call (kind 0x00, no payload)."""


@dataclass(frozen=True, slots=True)
class CallId:
    """The call's identifier, always Asterisk's first message (kind 0x01)."""

    uuid: uuid.UUID


@dataclass(frozen=True, slots=True)
class Dtmf:
    """One keypad digit (kind 0x03): 0-9, *, # or A-D."""

    digit: str


@dataclass(frozen=True, slots=True, repr=False)
class Audio:
    """Signed-linear 16-bit little-endian mono samples (`pcm`) at `rate` Hz (kinds 0x10..0x18)."""

    rate: int
    pcm: bytes

    @property
    def duration_secs(self) -> float:
        """Playback duration of the samples in seconds."""
        return len(self.pcm) / (2 * self.rate)

    def __repr__(self) -> str:
        return f"Audio(rate={self.rate}, pcm=<{len(self.pcm)} bytes>)"


@dataclass(frozen=True, slots=True)
class Error:
    """An error report (kind 0xFF): 0x01 hangup, 0x02 frame forwarding, 0x04 memory, or other."""

    code: int


Message = Hangup | CallId | Dtmf | Audio | Error


class ProtocolErrorReason(StrEnum):
    """Why a byte stream is not valid AudioSocket."""

    UNKNOWN_KIND = "unknown_kind"
    OVERSIZE = "oversize"
    BAD_LENGTH = "bad_length"
    BAD_DTMF = "bad_dtmf"
    UUID_NOT_FIRST = "uuid_not_first"
    UNEXPECTED_UUID = "unexpected_uuid"
    TRUNCATED = "truncated"
    DATA_AFTER_HANGUP = "data_after_hangup"


_R = ProtocolErrorReason


class ProtocolError(Exception):
    """The peer broke the AudioSocket protocol; the connection cannot continue.

    Attributes:
        reason: The kind of violation.
        detail: What was wrong and where, without payload bytes.
    """

    def __init__(self, reason: ProtocolErrorReason, detail: str) -> None:
        super().__init__(f"audiosocket protocol error ({reason}): {detail}")
        self.reason = reason
        self.detail = detail


class Decoder:
    """Incremental decoder: bytes in as they arrive, complete messages out.

    Header checks (kind, length, UUID ordering) run as soon as the 3 header bytes are in, so
    the buffered remainder never exceeds `HEADER_SIZE + max_payload` bytes. The first
    `ProtocolError` fails the decoder: every later `feed` or `close` raises it again, and
    messages decoded earlier in the failing `feed` call are dropped.

    Args:
        expect_call_id: True on the server side (the peer is Asterisk: its first message must
            be a UUID and later UUIDs are errors); False on the client side (any UUID is an error).
        max_payload: Largest accepted audio payload in bytes, 16..65535.
    """

    def __init__(self, *, expect_call_id: bool = True, max_payload: int = DEFAULT_MAX_PAYLOAD):
        if not 16 <= max_payload <= MAX_WIRE_PAYLOAD:
            raise ValueError(f"max_payload must be 16..{MAX_WIRE_PAYLOAD}, got {max_payload}")
        self._expect_call_id = expect_call_id
        self._max_payload = max_payload
        self._buf = bytearray()  # only ever an incomplete message
        self._consumed = 0
        self._call_id: uuid.UUID | None = None
        self._hung_up = False
        self._closed = False
        self._error: ProtocolError | None = None

    @property
    def call_id(self) -> uuid.UUID | None:
        """The UUID from the peer's first message, once received."""
        return self._call_id

    @property
    def bytes_consumed(self) -> int:
        """Stream offset just past the last complete message."""
        return self._consumed

    def feed(self, data: bytes) -> list[Message]:
        """Add received bytes and return every message they complete, in order.

        Raises:
            ProtocolError: The stream is invalid, now or at an earlier call.
            RuntimeError: `close` was already called.
        """
        if self._error is not None:
            raise self._error
        if self._closed:
            raise RuntimeError("feed() after close()")
        view = memoryview(data).cast("B")
        out: list[Message] = []
        pos = self._complete_buffered(view, out) if self._buf else 0
        end = len(view)
        while pos < end:
            if self._hung_up:
                self._fail(_R.DATA_AFTER_HANGUP, "data after hangup message")
            if end - pos < HEADER_SIZE:
                break
            kind_byte, length = _HEADER.unpack_from(view, pos)
            kind = self._check_header(kind_byte, length)
            stop = pos + HEADER_SIZE + length
            if stop > end:
                break
            out.append(self._decode(kind, view[pos + HEADER_SIZE : stop]))
            pos = stop
        self._buf += view[pos:]
        return out

    def close(self) -> None:
        """Signal end of stream.

        Raises:
            ProtocolError: A message was cut off (`TRUNCATED`), or the decoder already failed.
        """
        if self._error is not None:
            raise self._error
        self._closed = True
        if self._buf:
            self._fail(_R.TRUNCATED, f"{len(self._buf)} bytes of a message")

    def _complete_buffered(self, view: memoryview, out: list[Message]) -> int:
        """Move just enough of `view` into the buffer to finish its message; return bytes used."""
        buf = self._buf
        pos = 0
        if len(buf) < HEADER_SIZE:
            pos = min(HEADER_SIZE - len(buf), len(view))
            buf += view[:pos]
            if len(buf) < HEADER_SIZE:
                return pos
        kind_byte, length = _HEADER.unpack_from(buf)
        kind = self._check_header(kind_byte, length)
        take = min(HEADER_SIZE + length - len(buf), len(view) - pos)
        buf += view[pos : pos + take]
        pos += take
        if len(buf) == HEADER_SIZE + length:
            out.append(self._decode(kind, buf[HEADER_SIZE:]))
            buf.clear()
        return pos

    def _check_header(self, kind_byte: int, length: int) -> Kind:
        kind = _KIND_BY_BYTE.get(kind_byte)
        if kind is None:
            self._fail(_R.UNKNOWN_KIND, f"kind 0x{kind_byte:02x}")
        name, fixed = kind.name.lower(), _FIXED_SIZES.get(kind)
        if fixed is not None and length != fixed:
            self._fail(_R.BAD_LENGTH, f"{name} payload must be {fixed} bytes, got {length}")
        if fixed is None and length > self._max_payload:
            self._fail(_R.OVERSIZE, f"{name} payload of {length} bytes > {self._max_payload}")
        if fixed is None and length % 2:
            self._fail(_R.BAD_LENGTH, f"{name} payload of odd length {length}")
        if kind is Kind.UUID:
            if not self._expect_call_id or self._call_id is not None:
                self._fail(_R.UNEXPECTED_UUID, "uuid message")
        elif self._expect_call_id and self._call_id is None:
            self._fail(_R.UUID_NOT_FIRST, f"first message is {name}")
        return kind

    def _decode(self, kind: Kind, payload: memoryview | bytearray) -> Message:
        msg: Message
        if kind is Kind.UUID:
            self._call_id = uuid.UUID(bytes=bytes(payload))
            msg = CallId(self._call_id)
        elif kind is Kind.DTMF:
            digit = chr(payload[0])
            if digit not in DTMF_DIGITS:
                self._fail(_R.BAD_DTMF, "dtmf byte is not 0-9, *, # or A-D")
            msg = Dtmf(digit)
        elif kind is Kind.ERROR:
            msg = Error(payload[0])
        elif kind is Kind.HANGUP:
            self._hung_up = True
            msg = Hangup()
        else:
            msg = Audio(AUDIO_RATES[kind], bytes(payload))
        self._consumed += HEADER_SIZE + len(payload)
        return msg

    def _fail(self, reason: ProtocolErrorReason, detail: str) -> NoReturn:
        self._error = ProtocolError(reason, f"{detail} at stream offset {self._consumed}")
        raise self._error


def encode(msg: Message) -> bytes:
    """Serialize one message into a single buffer.

    Raises:
        ValueError: The message cannot be expressed on the wire.
        TypeError: `msg` is not a `Message`.
    """
    match msg:
        case Audio(rate=rate, pcm=pcm):
            return encode_audio(pcm, rate)
        case CallId(uuid=call_id):
            return _HEADER.pack(Kind.UUID, 16) + call_id.bytes
        case Dtmf(digit=digit):
            if digit not in DTMF_DIGITS:
                raise ValueError(f"DTMF digit must be one of 0-9, *, #, A-D, got {digit!r}")
            return _HEADER.pack(Kind.DTMF, 1) + digit.encode("ascii")
        case Error(code=code):
            if not 0 <= code <= 0xFF:
                raise ValueError(f"error code must be 0..255, got {code}")
            return _HEADER.pack(Kind.ERROR, 1) + bytes((code,))
        case Hangup():
            return _HEADER.pack(Kind.HANGUP, 0)
    raise TypeError(f"not an AudioSocket message: {type(msg).__name__}")


def encode_audio(pcm: bytes, rate: int = 8000) -> bytes:
    """Serialize one audio frame.

    Args:
        pcm: Signed-linear 16-bit little-endian mono samples, at most 65534 bytes.
        rate: Sample rate in Hz, one of the values of `AUDIO_RATES`.

    Raises:
        ValueError: Odd or too long `pcm`, or an unsupported rate.
    """
    kind = audio_kind(rate)
    if len(pcm) % 2 or len(pcm) > MAX_WIRE_PAYLOAD:
        raise ValueError(f"audio payload must be an even number of bytes <= 65534, got {len(pcm)}")
    return _HEADER.pack(kind, len(pcm)) + pcm
