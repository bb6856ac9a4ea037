"""The supervisor's listener over real TCP: it reads the UUID and not one byte more."""

import asyncio
import socket
import uuid

import pytest

from transports.audiosocket.codec import Audio, CallId, Decoder, Hangup, encode
from transports.audiosocket.front import AudioSocketFront
from transports.audiosocket.handshake import HandshakeLimits

pytestmark = pytest.mark.integration


async def closed(reader: asyncio.StreamReader) -> bool:
    """Whether the other side closed (a reset too: it closed with our bytes unread)."""
    try:
        return await asyncio.wait_for(reader.read(), 5) == b""
    except ConnectionResetError:
        return True


async def started(dispatch, on_dropped=None) -> AudioSocketFront:
    limits = HandshakeLimits(uuid_secs=0.5, first_audio_secs=0.5, waiting_per_peer=2)
    front = AudioSocketFront(
        dispatch, host="127.0.0.1", port=0, limits=limits, on_dropped=on_dropped
    )
    await front.start()
    return front


async def test_the_call_socket_is_handed_over_with_the_callers_audio_still_in_it():
    handed: asyncio.Queue[tuple[socket.socket, uuid.UUID]] = asyncio.Queue()

    def dispatch(sock: socket.socket, call_id: uuid.UUID) -> None:
        handed.put_nowait((sock.dup(), call_id))  # the front closes its own copy

    front = await started(dispatch)
    call_id = uuid.uuid4()
    frame = encode(Audio(rate=8000, pcm=bytes(range(256)) + bytes(64)))
    reader, writer = await asyncio.open_connection("127.0.0.1", front.port)
    writer.write(encode(CallId(call_id)) + frame)  # Asterisk sends audio right behind
    await writer.drain()
    sock, got = await asyncio.wait_for(handed.get(), 5)
    sock.setblocking(True)
    sock.settimeout(5)
    assert got == call_id
    assert sock.recv(len(frame), socket.MSG_WAITALL) == frame
    sock.close()
    writer.close()
    await front.close()


async def test_a_refused_call_gets_the_hangup_and_a_closed_socket():
    front = await started(lambda sock, call_id: "at_capacity")
    reader, writer = await asyncio.open_connection("127.0.0.1", front.port)
    writer.write(encode(CallId(uuid.uuid4())) + encode(Audio(rate=8000, pcm=bytes(320))))
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)  # until the front closes it
    assert Decoder(expect_call_id=False).feed(data) == [Hangup()]
    writer.close()
    await front.close()


@pytest.mark.parametrize("first", [encode(Audio(rate=8000, pcm=bytes(320))), b"GET / HTTP/1.1\r\n"])
async def test_a_connection_that_does_not_start_with_a_uuid_is_closed_unrouted(first):
    routed = []
    front = await started(lambda sock, call_id: routed.append(call_id))
    reader, writer = await asyncio.open_connection("127.0.0.1", front.port)
    writer.write(first)
    await writer.drain()
    assert await closed(reader)
    assert routed == []
    writer.close()
    await front.close()


async def test_a_silent_connection_is_closed_after_the_handshake_time():
    front = await started(lambda sock, call_id: None)
    reader, writer = await asyncio.open_connection("127.0.0.1", front.port)
    assert await closed(reader)
    writer.close()
    await front.close()


async def _uuid_only(port: int, source: str = "127.0.0.1"):
    """A connection that sends its call UUID and then nothing."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(encode(CallId(uuid.uuid4())))
    await writer.drain()
    return reader, writer


async def test_a_uuid_and_then_nothing_is_refused_with_the_hangup_and_never_dispatched():
    routed, dropped = [], []
    front = await started(lambda sock, call_id: routed.append(call_id), on_dropped=dropped.append)
    reader, writer = await _uuid_only(front.port)

    data = await asyncio.wait_for(reader.read(), 5)  # until the front closes it

    assert Decoder(expect_call_id=False).feed(data) == [Hangup()]  # the dialplan goes on
    assert routed == [] and dropped == ["no_audio"]
    writer.close()
    await front.close()


async def test_one_address_may_keep_only_so_many_connections_waiting():
    routed, dropped = [], []
    front = await started(lambda sock, call_id: routed.append(call_id), on_dropped=dropped.append)
    waiting = [await _uuid_only(front.port) for _ in range(2)]  # the limit is 2
    third, third_writer = await _uuid_only(front.port)
    # Refused at once (long before the 0.5 s first-audio wait is over) with the hangup.
    data = await asyncio.wait_for(third.read(), 0.4)
    assert Decoder(expect_call_id=False).feed(data) == [Hangup()]
    assert dropped == ["peer_limit"]

    # Another address is not refused for it: its call, audio behind the UUID, is dispatched.
    other, other_writer = await _uuid_only(front.port, source="127.0.0.2")
    other_writer.write(encode(Audio(rate=8000, pcm=bytes(320))))
    async with asyncio.timeout(5):
        while not routed:  # noqa: ASYNC110 - a bounded poll of what the front dispatched
            await asyncio.sleep(0.01)
    for _, writer in [*waiting, (third, third_writer), (other, other_writer)]:
        writer.close()
    await front.close()
