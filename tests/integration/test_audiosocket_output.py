"""The transport's output against a peer that stops reading, over real TCP."""

import asyncio
import socket
import uuid

import pytest
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.workers.runner import WorkerRunner

from transports.audiosocket.connection import AudioSocketConnection
from transports.audiosocket.transport import AudioSocketParams, AudioSocketTransport

pytestmark = pytest.mark.integration

SMALL_BUFFER = 4096  # bytes: the kernel's buffers fill within a second of audio


async def test_a_peer_that_stops_reading_is_dropped_after_the_write_timeout():
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_BUFFER
        )
        await accepted.put((reader, writer))

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    peer = socket.socket()  # connects, then never reads a byte and never sends one
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    peer.setblocking(False)
    await asyncio.get_running_loop().sock_connect(peer, ("127.0.0.1", port))
    reader, writer = await accepted.get()

    connection = AudioSocketConnection(reader, writer, expect_call_id=False, max_payload=4096)
    params = AudioSocketParams(audio_out_write_timeout_secs=0.5, read_timeout_secs=60.0)
    transport = AudioSocketTransport(connection, uuid.uuid4(), params)
    gone: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @transport.event_handler("on_client_disconnected")
    async def on_gone(_transport: AudioSocketTransport, reason: str) -> None:
        gone.set_result(reason)

    worker = PipelineWorker(
        Pipeline([transport.input(), transport.output()]),
        params=PipelineParams(audio_in_sample_rate=8000, audio_out_sample_rate=8000),
        enable_rtvi=False,
        idle_timeout_secs=None,
    )
    runner = WorkerRunner(handle_sigint=False, handle_sigterm=False)
    await runner.add_workers(worker)
    running = asyncio.create_task(runner.run())
    try:
        # Silence alone fills the buffers; the read timeout (60 s) is far off.
        assert await asyncio.wait_for(gone, timeout=30) == "peer_not_reading"
        await asyncio.wait_for(running, timeout=10)  # the call's worker ended with it
    finally:
        peer.close()
        server.close()
        running.cancel()
