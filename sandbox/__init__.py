"""Local stand-ins for everything outside the process: the simulated caller first."""
