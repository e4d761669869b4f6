"""The browser tests' server must not leave files open when a browser drops a connection (a 304 for a static file,
then the page closes): the garbage collector's warning would fail whichever test happens to be running."""

import gc
import socket
import sys
import threading
import time

from werkzeug.serving import make_server

from tests.conftest import _closed_before_sending

CONDITIONAL_FAVICON = b"GET /static/img/favicon.svg HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Thu, 01 Jan 2099 00:00:00 GMT\r\n\r\n"
RESET_ON_CLOSE = b"\1\0\0\0\0\0\0\0"  # SO_LINGER on with a zero timeout: close() sends a reset, as a closed tab does


def test_dropped_conditional_requests_leave_no_file_open(app, monkeypatch):
    unclosed = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: unclosed.append(repr(unraisable.exc_value)))
    server = make_server("127.0.0.1", 0, _closed_before_sending(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for attempt in range(30):
            client = socket.create_connection(("127.0.0.1", server.server_port))
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
            client.sendall(CONDITIONAL_FAVICON)
            time.sleep((attempt % 10) / 1000)
            client.close()
        time.sleep(0.5)  # let the handler threads finish with their dropped connections
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()
    gc.collect()
    assert unclosed == []
