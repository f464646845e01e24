"""A tiny HTTP server on 127.0.0.1 serving test images (and a page, a missing path, an
image too big), in a thread of its own so it answers whatever event loop asks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The smallest PNG (1x1, transparent) and GIF: real images, short enough to compare.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f3b0000000049454e44ae426082"
)
GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
BIG = b"\x89PNG" + b"\0" * 40_000

FILES = {
    "/pixel.png": ("image/png", PNG),
    "/pixel.gif": ("image/gif", GIF),
    "/page.html": ("text/html; charset=utf-8", b"<html>not an image</html>"),
    "/big.png": ("image/png", BIG),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        found = FILES.get(self.path)
        if found is None:
            self.send_error(404)
            return
        kind, body = found
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet


@contextmanager
def image_server() -> Iterator[str]:
    """The server's base URL, e.g. http://127.0.0.1:40123."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
