"""Observers: they watch a call's frames and never change them."""
