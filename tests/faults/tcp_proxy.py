"""A TCP forwarder the tests own, to make a shared dependency (Redis) fail for this test only: cut every
connection and refuse new ones, or stall (accept, never answer) — without touching the shared server."""
import socket
import threading


class TcpProxy:
    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.mode = "forward"  # forward | stall | refuse
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.mode == "refuse":
                client.close()  # the caller sees its connection reset at once
                continue
            if self.mode == "stall":
                with self._lock:
                    self._conns.append(client)  # held open, never answered
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src, dst):
        try:
            while data := src.recv(65536):
                if self.mode == "stall":
                    continue  # swallow: the caller waits for an answer that never comes
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                _shut(s)

    def drop_connections(self):
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            _shut(s)

    def cut(self):
        """Redis gone: open connections reset, new ones closed at once (until resume())."""
        self.mode = "refuse"
        self.drop_connections()

    def stall(self):
        """Redis hanging: connections stay open but nothing comes back."""
        self.mode = "stall"

    def resume(self):
        self.mode = "forward"
        self.drop_connections()

    def close(self):
        self._closed = True
        self.listener.close()
        self.drop_connections()


def _shut(s: socket.socket) -> None:
    # shutdown() first: a bare close() neither wakes the thread blocked in recv() on the other direction
    # nor sends the FIN, and the far side would wait for ever.
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
