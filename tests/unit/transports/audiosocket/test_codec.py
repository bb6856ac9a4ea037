"""Tests for the pure AudioSocket codec: round trips, chunking, malformed input, fuzzing."""

import contextlib
import hashlib
import signal
import struct
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transports.audiosocket.codec import (
    AUDIO_RATES,
    DEFAULT_MAX_PAYLOAD,
    DTMF_DIGITS,
    HEADER_SIZE,
    Audio,
    CallId,
    Decoder,
    Dtmf,
    Error,
    Hangup,
    Kind,
    Message,
    ProtocolError,
    ProtocolErrorReason,
    audio_kind,
    encode,
    encode_audio,
)

pytestmark = pytest.mark.unit

R = ProtocolErrorReason
CALL_ID = uuid.UUID("40b1e9d2-7c3f-4e8a-9b61-2f5d0c8a7e13")
UUID_MSG = b"\x01\x00\x10" + CALL_ID.bytes
RATE_BYTES = {
    8000: 0x10,
    12000: 0x11,
    16000: 0x12,
    24000: 0x13,
    32000: 0x14,
    44100: 0x15,
    48000: 0x16,
    96000: 0x17,
    192000: 0x18,
}


def frame_20ms(rate: int, seed: int = 1) -> bytes:
    """20 ms of deterministic non-silent PCM at `rate`."""
    samples = rate // 50
    return struct.pack(f"<{samples}h", *(((n * 37 + seed) % 2001) - 1000 for n in range(samples)))


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """Cut `data` at the given offsets (taken modulo len+1, deduplicated)."""
    points = [0, *sorted({c % (len(data) + 1) for c in cuts}), len(data)]
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


def decode_chunks(chunks: list[bytes], *, expect_call_id: bool = True) -> list[Message]:
    decoder = Decoder(expect_call_id=expect_call_id)
    out: list[Message] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    decoder.close()
    return out


def raise_reason(data: bytes, *, expect_call_id: bool = True) -> ProtocolError:
    decoder = Decoder(expect_call_id=expect_call_id)
    with pytest.raises(ProtocolError) as info:
        decoder.feed(data)
        decoder.close()
    return info.value


@contextlib.contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    """Turn a hang into a test failure instead of a stuck run."""

    def on_alarm(signum: int, frame: object) -> None:
        raise TimeoutError(f"decoder did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- message types and encoding -------------------------------------------------------------


def test_kind_values_match_the_wire() -> None:
    assert Kind.HANGUP == 0x00 and Kind.UUID == 0x01 and Kind.DTMF == 0x03
    assert Kind.ERROR == 0xFF
    assert {int(kind): rate for kind, rate in AUDIO_RATES.items()} == {
        byte: rate for rate, byte in RATE_BYTES.items()
    }


@pytest.mark.parametrize("rate", sorted(RATE_BYTES))
def test_audio_kind_maps_every_rate(rate: int) -> None:
    assert audio_kind(rate) == RATE_BYTES[rate]
    assert AUDIO_RATES[audio_kind(rate)] == rate


@pytest.mark.parametrize("rate", [0, 11025, 22050, 8001, -8000])
def test_audio_kind_rejects_unsupported_rate(rate: int) -> None:
    with pytest.raises(ValueError, match=f"unsupported audio rate {rate}"):
        audio_kind(rate)


def test_encode_exact_bytes() -> None:
    assert encode(Hangup()) == b"\x00\x00\x00"
    assert encode(CallId(CALL_ID)) == UUID_MSG
    assert encode(Dtmf("#")) == b"\x03\x00\x01#"
    assert encode(Error(0x04)) == b"\xff\x00\x01\x04"
    pcm = frame_20ms(8000)
    assert encode(Audio(8000, pcm)) == b"\x10\x01\x40" + pcm
    assert encode_audio(pcm) == encode(Audio(8000, pcm))
    assert type(encode_audio(bytearray(pcm))) is bytes


@pytest.mark.parametrize("rate", sorted(RATE_BYTES))
def test_audio_round_trips_at_every_rate(rate: int) -> None:
    msg = Audio(rate, frame_20ms(rate))
    wire = encode(msg)
    assert wire[:3] == bytes([RATE_BYTES[rate]]) + struct.pack(">H", rate // 50 * 2)
    assert decode_chunks([UUID_MSG, wire]) == [CallId(CALL_ID), msg]
    assert decode_chunks([wire], expect_call_id=False) == [msg]
    assert msg.duration_secs == pytest.approx(0.02)


@pytest.mark.parametrize(
    "msg",
    [
        Hangup(),
        *(Dtmf(d) for d in sorted(DTMF_DIGITS)),
        *(Error(code) for code in (0x00, 0x01, 0x02, 0x04, 0x7F, 0xFF)),
        Audio(8000, b""),
    ],
    ids=repr,
)
def test_message_round_trips(msg: Message) -> None:
    assert decode_chunks([UUID_MSG, encode(msg)]) == [CallId(CALL_ID), msg]
    assert decode_chunks([encode(msg)], expect_call_id=False) == [msg]


def test_call_id_round_trips_and_is_recorded() -> None:
    decoder = Decoder()
    assert decoder.call_id is None
    assert decoder.feed(encode(CallId(CALL_ID))) == [CallId(CALL_ID)]
    assert decoder.call_id == CALL_ID
    assert decoder.bytes_consumed == 19


def test_audio_duration_and_repr_hide_samples() -> None:
    audio = Audio(16000, b"\x01\x02" * 320)
    assert audio.duration_secs == pytest.approx(0.02)
    assert Audio(44100, b"\x00\x00" * 441).duration_secs == pytest.approx(0.01)
    assert repr(audio) == "Audio(rate=16000, pcm=<640 bytes>)"


@pytest.mark.parametrize(
    ("msg", "match"),
    [
        (Audio(8000, b"\x00"), "even number of bytes"),
        (Audio(8000, b"\x00" * 65536), "even number of bytes"),
        (Audio(11025, b"\x00\x00"), "unsupported audio rate 11025"),
        (Dtmf("x"), "DTMF digit"),
        (Dtmf("a"), "DTMF digit"),
        (Dtmf(""), "DTMF digit"),
        (Dtmf("55"), "DTMF digit"),
        (Error(-1), "error code must be 0..255"),
        (Error(256), "error code must be 0..255"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_encode_rejects_invalid_messages(msg: Message, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        encode(msg)


def test_encode_accepts_largest_audio_and_rejects_non_messages() -> None:
    assert encode_audio(b"\x00" * 65534, 8000)[:3] == b"\x10\xff\xfe"
    with pytest.raises(TypeError, match="not an AudioSocket message"):
        encode(b"\x00\x00\x00")  # type: ignore[arg-type]


# --- chunking ---------------------------------------------------------------------------------

STREAM_MSGS: list[Message] = [
    CallId(CALL_ID),
    Audio(8000, frame_20ms(8000, 1)),
    Dtmf("5"),
    Audio(8000, frame_20ms(8000, 2)),
    Error(0x02),
    Audio(16000, frame_20ms(16000, 3)),
    Dtmf("*"),
    Hangup(),
]
STREAM = b"".join(encode(m) for m in STREAM_MSGS)


def test_split_at_every_offset_gives_identical_messages() -> None:
    for offset in range(len(STREAM) + 1):
        decoder = Decoder()
        first = decoder.feed(STREAM[:offset])
        second = decoder.feed(STREAM[offset:])
        decoder.close()
        assert first + second == STREAM_MSGS, offset
        assert decoder.bytes_consumed == len(STREAM)
        assert decoder.call_id == CALL_ID


def test_one_byte_at_a_time_gives_identical_messages() -> None:
    decoder = Decoder()
    out: list[Message] = []
    for i in range(len(STREAM)):
        out.extend(decoder.feed(STREAM[i : i + 1]))
        assert decoder.bytes_consumed <= i + 1
    decoder.close()
    assert out == STREAM_MSGS


def test_partial_message_is_buffered_not_counted() -> None:
    decoder = Decoder()
    wire = encode_audio(frame_20ms(8000))
    assert decoder.feed(UUID_MSG + wire[:100]) == [CallId(CALL_ID)]
    assert decoder.bytes_consumed == 19
    assert decoder.feed(b"") == []
    assert decoder.feed(wire[100:]) == [Audio(8000, frame_20ms(8000))]
    assert decoder.bytes_consumed == 19 + 323


def test_many_messages_in_one_read() -> None:
    msgs: list[Message] = [CallId(CALL_ID)]
    for i in range(1000):
        msgs.append(Audio(8000, frame_20ms(8000, i)))
        if i % 100 == 0:
            msgs.append(Dtmf(sorted(DTMF_DIGITS)[i // 100]))
    data = b"".join(encode(m) for m in msgs)
    decoder = Decoder()
    assert decoder.feed(data) == msgs
    assert decoder.bytes_consumed == len(data)


def test_decoded_payload_is_a_copy_of_a_reused_read_buffer() -> None:
    pcm = frame_20ms(8000)
    buffer = bytearray(UUID_MSG + encode_audio(pcm))
    decoder = Decoder()
    out = decoder.feed(memoryview(buffer))
    buffer[:] = b"\x00" * len(buffer)
    assert out == [CallId(CALL_ID), Audio(8000, pcm)]
    assert isinstance(out[1], Audio) and type(out[1].pcm) is bytes


def test_one_megabyte_read_decodes_fast() -> None:
    frame = encode_audio(frame_20ms(8000))
    data = UUID_MSG + frame * (1_000_000 // len(frame))
    best = float("inf")
    for _ in range(3):  # best of three keeps a busy CI machine from flaking the test
        decoder = Decoder()
        start = time.perf_counter()
        out = decoder.feed(data)
        best = min(best, time.perf_counter() - start)
        assert len(out) == 1 + 1_000_000 // len(frame)
    assert best < 0.1


# --- malformed input --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [0x02, 0x04, 0x0F, 0x19, 0x20, 0x42, 0xFE])
def test_unknown_kind(kind: int) -> None:
    err = raise_reason(UUID_MSG + bytes([kind, 0, 0]))
    assert err.reason is R.UNKNOWN_KIND
    assert str(err) == (
        f"audiosocket protocol error (unknown_kind): kind 0x{kind:02x} at stream offset 19"
    )


def test_unknown_kind_wins_over_uuid_not_first() -> None:
    assert raise_reason(b"GET / HTTP/1.1\r\n").reason is R.UNKNOWN_KIND


def test_oversize_is_detected_from_the_header_alone() -> None:
    decoder = Decoder()
    decoder.feed(UUID_MSG)
    with pytest.raises(ProtocolError) as info:
        decoder.feed(b"\x10" + struct.pack(">H", DEFAULT_MAX_PAYLOAD + 2))
    assert info.value.reason is R.OVERSIZE
    assert "16386" in info.value.detail and "at stream offset 19" in info.value.detail


def test_oversize_header_split_across_feeds() -> None:
    decoder = Decoder(expect_call_id=False, max_payload=320)
    assert decoder.feed(b"\x10") == []
    assert decoder.feed(b"\x01") == []
    with pytest.raises(ProtocolError) as info:
        decoder.feed(b"\x42")  # 0x0142 = 322 bytes
    assert info.value.reason is R.OVERSIZE


def test_payload_of_exactly_max_payload_is_accepted() -> None:
    pcm = b"\x01\x00" * 160
    decoder = Decoder(expect_call_id=False, max_payload=320)
    assert decoder.feed(encode_audio(pcm)) == [Audio(8000, pcm)]


@pytest.mark.parametrize("max_payload", [0, 15, 65536])
def test_max_payload_must_fit_the_wire(max_payload: int) -> None:
    with pytest.raises(ValueError, match="max_payload"):
        Decoder(max_payload=max_payload)


@pytest.mark.parametrize(
    "first",
    [encode_audio(frame_20ms(8000)), b"\x03\x00\x015", b"\xff\x00\x01\x01", b"\x00\x00\x00"],
    ids=["audio", "dtmf", "error", "hangup"],
)
def test_uuid_not_first(first: bytes) -> None:
    err = raise_reason(first[:HEADER_SIZE])  # detected from the header
    assert err.reason is R.UUID_NOT_FIRST
    assert "at stream offset 0" in str(err)


def test_repeated_uuid() -> None:
    err = raise_reason(UUID_MSG + encode_audio(frame_20ms(8000)) + UUID_MSG)
    assert err.reason is R.UNEXPECTED_UUID
    assert "at stream offset 342" in str(err)


def test_uuid_on_client_side_decoder() -> None:
    assert raise_reason(UUID_MSG, expect_call_id=False).reason is R.UNEXPECTED_UUID
    later = encode(Dtmf("1")) + UUID_MSG
    assert raise_reason(later, expect_call_id=False).reason is R.UNEXPECTED_UUID


@pytest.mark.parametrize(
    "header",
    [
        b"\x01\x00\x0f",  # uuid, 15
        b"\x01\x00\x11",  # uuid, 17
        b"\x01\x00\x24",  # uuid as 36 text characters
        b"\x03\x00\x00",  # dtmf, 0
        b"\x03\x00\x02",  # dtmf, 2
        b"\xff\x00\x00",  # error, 0
        b"\xff\x00\x02",  # error, 2
        b"\x00\x00\x01",  # hangup, 1
    ],
    ids=lambda h: f"kind{h[0]:02x}-len{h[2]}",
)
def test_wrong_fixed_length_is_detected_from_the_header(header: bytes) -> None:
    prefix = b"" if header[0] == Kind.UUID else UUID_MSG
    err = raise_reason(prefix + header)
    assert err.reason is R.BAD_LENGTH
    assert "payload must be" in err.detail


@pytest.mark.parametrize("length", [1, 319, 16383])
def test_odd_audio_length(length: int) -> None:
    err = raise_reason(UUID_MSG + b"\x10" + struct.pack(">H", length))
    assert err.reason is R.BAD_LENGTH
    assert f"odd length {length}" in err.detail


@pytest.mark.parametrize("char", [b"x", b"a", b"E", b"\x00", b"\xff", b" "])
def test_bad_dtmf(char: bytes) -> None:
    err = raise_reason(UUID_MSG + b"\x03\x00\x01" + char)
    assert err.reason is R.BAD_DTMF
    assert str(err) == (
        "audiosocket protocol error (bad_dtmf): dtmf byte is not 0-9, *, # or A-D "
        "at stream offset 19"
    )


@pytest.mark.parametrize("cut", [1, 2, 3, 100, 322])
def test_truncated_at_end_of_stream(cut: int) -> None:
    decoder = Decoder()
    assert decoder.feed(UUID_MSG + encode_audio(frame_20ms(8000))[:cut]) == [CallId(CALL_ID)]
    with pytest.raises(ProtocolError) as info:
        decoder.close()
    assert info.value.reason is R.TRUNCATED
    assert info.value.detail == f"{cut} bytes of a message at stream offset 19"


def test_close_on_a_message_boundary_or_empty_stream_is_clean() -> None:
    decoder = Decoder()
    decoder.feed(UUID_MSG)
    assert decoder.close() is None
    assert Decoder().close() is None


def test_feed_after_close_is_a_programming_error() -> None:
    decoder = Decoder()
    decoder.close()
    with pytest.raises(RuntimeError):
        decoder.feed(UUID_MSG)


def test_data_after_hangup_in_the_same_read() -> None:
    err = raise_reason(UUID_MSG + encode(Hangup()) + b"\x03")
    assert err.reason is R.DATA_AFTER_HANGUP
    assert "at stream offset 22" in str(err)


def test_data_after_hangup_in_a_later_read() -> None:
    decoder = Decoder()
    assert decoder.feed(UUID_MSG + encode(Hangup())) == [CallId(CALL_ID), Hangup()]
    assert decoder.feed(b"") == []
    with pytest.raises(ProtocolError) as info:
        decoder.feed(encode(Dtmf("1")))
    assert info.value.reason is R.DATA_AFTER_HANGUP


def test_failed_decoder_stays_failed() -> None:
    decoder = Decoder()
    with pytest.raises(ProtocolError) as info:
        decoder.feed(UUID_MSG + encode(Dtmf("1")) + b"\x42\x00\x00")
    first = info.value
    assert decoder.bytes_consumed == 23  # messages before the bad header were consumed
    for data in (b"", encode(Dtmf("2")), UUID_MSG):
        with pytest.raises(ProtocolError) as again:
            decoder.feed(data)
        assert again.value is first
    with pytest.raises(ProtocolError) as at_close:
        decoder.close()
    assert at_close.value is first


def test_errors_never_quote_payload_bytes() -> None:
    secret = b"SECRET-CALLER-AUDIO!"
    decoder = Decoder()
    decoder.feed(UUID_MSG + encode_audio(secret)[:-2])
    with pytest.raises(ProtocolError) as info:
        decoder.close()
    text = str(info.value)
    assert "SECRET" not in text and secret.hex() not in text
    err = raise_reason(UUID_MSG + b"\x03\x00\x01Z")
    assert "Z" not in str(err) and "5a" not in str(err)


def test_protocol_error_attributes() -> None:
    err = ProtocolError(R.OVERSIZE, "too big")
    assert err.reason == "oversize" and err.detail == "too big"
    assert str(err) == "audiosocket protocol error (oversize): too big"


# --- hypothesis -------------------------------------------------------------------------------

even_pcm = st.binary(max_size=1024).map(lambda b: b[: len(b) - len(b) % 2])
body_msgs = st.one_of(
    st.builds(Audio, rate=st.sampled_from(sorted(AUDIO_RATES.values())), pcm=even_pcm),
    st.builds(Dtmf, st.sampled_from(sorted(DTMF_DIGITS))),
    st.builds(Error, st.integers(0, 255)),
)
cut_lists = st.lists(st.integers(min_value=0), max_size=25)


@given(
    server=st.booleans(),
    call_id=st.uuids(),
    body=st.lists(body_msgs, max_size=30),
    hangup=st.booleans(),
    cuts=cut_lists,
)
def test_round_trip_with_arbitrary_chunking(
    server: bool, call_id: uuid.UUID, body: list[Message], hangup: bool, cuts: list[int]
) -> None:
    msgs = ([CallId(call_id)] if server else []) + body + ([Hangup()] if hangup else [])
    data = b"".join(encode(m) for m in msgs)
    decoder = Decoder(expect_call_id=server)
    out: list[Message] = []
    for chunk in split(data, cuts):
        out.extend(decoder.feed(chunk))
    decoder.close()
    assert out == msgs
    assert decoder.bytes_consumed == len(data)
    assert decoder.call_id == (call_id if server else None)


def check_decoder_on(stream: bytes, cuts: list[int], server: bool, max_payload: int) -> None:
    """Only ProtocolError, bounded buffer, every byte accounted for, and it always returns."""
    decoder = Decoder(expect_call_id=server, max_payload=max_payload)
    fed = 0
    with watchdog(5.0):
        for chunk in split(stream, cuts):
            try:
                out = decoder.feed(chunk)
            except ProtocolError as exc:
                with pytest.raises(ProtocolError) as again:
                    decoder.feed(b"\x00")
                assert again.value is exc
                return
            fed += len(chunk)
            assert all(isinstance(m, Message) for m in out)
            assert len(decoder._buf) <= HEADER_SIZE + max_payload
            assert decoder.bytes_consumed + len(decoder._buf) == fed
        with contextlib.suppress(ProtocolError):
            decoder.close()


@settings(max_examples=300)
@given(
    data=st.binary(max_size=4096),
    uuid_prefix=st.booleans(),
    cuts=cut_lists,
    server=st.booleans(),
    max_payload=st.integers(16, 4096),
)
def test_fuzz_random_bytes(
    data: bytes, uuid_prefix: bool, cuts: list[int], server: bool, max_payload: int
) -> None:
    check_decoder_on((UUID_MSG if uuid_prefix else b"") + data, cuts, server, max_payload)


@settings(max_examples=300)
@given(
    body=st.lists(body_msgs, max_size=20),
    mutations=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=4),
    cuts=cut_lists,
    server=st.booleans(),
    max_payload=st.integers(16, 2048),
)
def test_fuzz_mutated_valid_streams(
    body: list[Message],
    mutations: list[tuple[int, int]],
    cuts: list[int],
    server: bool,
    max_payload: int,
) -> None:
    stream = bytearray(UUID_MSG + b"".join(encode(m) for m in body))
    for index, value in mutations:
        stream[index % len(stream)] = value
    check_decoder_on(bytes(stream), cuts, server, max_payload)


# --- hand-built fixture -----------------------------------------------------------------------

# asterisk_call.bin was assembled by hand with struct.pack from the DESIGN wire facts (kind byte,
# big-endian length, payload; UUID first; 20 ms frames of 16-bit LE PCM), NOT captured from a
# real Asterisk: UUID 40b1e9d2-..., three 320-byte 8 kHz triangle-wave frames, DTMF '5', then
# one 640-byte 16 kHz frame. 1635 bytes.
FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "audiosocket" / "asterisk_call.bin"
FIXTURE_SHA256 = "cdd33975fc8833e7b5f1ac0f911396e0cf8e48f535535b4c749d8a9726b4b1ef"


def triangle(samples: int, period: int, amp: int) -> bytes:
    values = (amp * (abs(n % period - period // 2) - period // 4) for n in range(samples))
    return struct.pack(f"<{samples}h", *values)


FIXTURE_MSGS: list[Message] = [
    CallId(CALL_ID),
    Audio(8000, triangle(160, 20, 1000)),
    Audio(8000, triangle(160, 20, 2000)),
    Audio(8000, triangle(160, 20, 3000)),
    Dtmf("5"),
    Audio(16000, triangle(320, 40, 500)),
]


def test_fixture_bytes_are_the_hand_built_stream() -> None:
    raw = FIXTURE.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == FIXTURE_SHA256
    assert len(raw) == 19 + 3 * (3 + 320) + (3 + 1) + (3 + 640)
    assert raw[:19] == b"\x01\x00\x10" + bytes.fromhex("40b1e9d27c3f4e8a9b612f5d0c8a7e13")
    for offset in (19, 342, 665):
        assert raw[offset : offset + 3] == b"\x10\x01\x40"
    assert raw[22:26] == b"\x88\x13\xa0\x0f"  # first samples: 5000, 4000 (LE)
    assert raw[988:992] == b"\x03\x00\x01\x35"
    assert raw[992:995] == b"\x12\x02\x80"


def test_fixture_decodes_and_re_encodes_identically() -> None:
    raw = FIXTURE.read_bytes()
    decoder = Decoder()
    msgs = decoder.feed(raw)
    decoder.close()
    assert msgs == FIXTURE_MSGS
    assert decoder.call_id == CALL_ID
    assert all(m.pcm.count(0) < len(m.pcm) for m in msgs if isinstance(m, Audio))
    assert all(m.duration_secs == pytest.approx(0.02) for m in msgs if isinstance(m, Audio))
    assert b"".join(encode(m) for m in msgs) == raw
