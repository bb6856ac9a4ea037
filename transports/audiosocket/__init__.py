"""Asterisk AudioSocket: pure codec and pacer, the asyncio server, the pipecat transport."""
