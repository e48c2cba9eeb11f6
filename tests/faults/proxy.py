# Copyright 2026 The admission Authors. Licensed under the Apache License 2.0.
"""A small TCP proxy for the fault suite: a gateway talks to Redis through it, and the test
breaks the network between them.

    proxy = FaultProxy(("127.0.0.1", redis_port)).start()
    gateway --store=redis://127.0.0.1:{proxy.port}
    proxy.delay(200)   # every chunk, both ways, waits 200 ms
    proxy.drop()       # black hole: nothing is forwarded, sockets stay open
    proxy.cut()        # every connection closed, new ones refused (closed at once)
    proxy.heal()       # back to normal
    proxy.close()

One thread accepts, two threads per connection pump bytes (one per direction). Threads
rather than asyncio: a handful of connections, and blocking code reads plainly.
"""

import socket
import threading
import time


class FaultProxy:
    def __init__(self, upstream, host="127.0.0.1"):
        self.upstream = upstream
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._mode = "normal"  # normal | drop | cut
        self._delay_sec = 0.0
        self._conns = set()  # (client socket, upstream socket)
        self._closed = False
        self.accepted = 0
        self.refused = 0

    def start(self):
        threading.Thread(target=self._accept_loop, name="proxy-accept", daemon=True).start()
        return self

    # --- controls -------------------------------------------------------------------------
    def delay(self, ms):
        """Every chunk, in both directions, is held `ms` milliseconds before it is sent."""
        with self._lock:
            self._delay_sec = ms / 1000.0

    def drop(self):
        """A black hole: bytes are read and thrown away, connections stay open."""
        with self._lock:
            self._mode = "drop"

    def cut(self):
        """Closes every connection and refuses new ones (accepted, then closed at once)."""
        with self._lock:
            self._mode = "cut"
            conns = list(self._conns)
            self._conns.clear()
        for pair in conns:
            _close_pair(pair)

    def heal(self):
        with self._lock:
            self._mode = "normal"
            self._delay_sec = 0.0

    def close(self):
        self._closed = True
        self.cut()
        try:
            self._listener.close()
        except OSError:
            pass

    # --- the pumps ------------------------------------------------------------------------
    def _accept_loop(self):
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                mode = self._mode
            if mode == "cut":
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=2)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = (client, upstream)
            with self._lock:
                if self._mode == "cut":
                    _close_pair(pair)
                    continue
                self._conns.add(pair)
            self.accepted += 1
            threading.Thread(target=self._pump, args=(client, upstream, pair), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, pair), daemon=True).start()

    def _pump(self, src, dst, pair):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            with self._lock:
                mode, delay = self._mode, self._delay_sec
            if mode == "drop":
                continue  # swallowed: the peer waits for an answer that never comes
            if mode == "cut":
                break
            if delay > 0:
                time.sleep(delay)
            try:
                dst.sendall(data)
            except OSError:
                break
        with self._lock:
            self._conns.discard(pair)
        _close_pair(pair)


def _close_pair(pair):
    for s in pair:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass
