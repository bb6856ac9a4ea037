"""Transports that carry a call's audio between the telephony system and a pipeline."""
