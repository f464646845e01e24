"""Files that run inside the sandbox, never imported by the server: `worker.py` (the
per-container Python process) and `openscope_sandbox_backend.py` (the matplotlib backend that
turns figures into PNGs). They use the standard library (and matplotlib when the user's code
imports it) and are copied to the sandbox's read-only runtime directory."""
