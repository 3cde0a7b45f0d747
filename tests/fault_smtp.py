"""An SMTP server on 127.0.0.1 that misbehaves on purpose, the way real relays do.

aiosmtpd cannot be made to take a whole message and then vanish, or to answer one byte
at a time, so this one speaks just enough SMTP itself: per recipient it can accept,
refuse with a chosen reply, drop the connection before or after the final ``.``, or
stall after the final ``.`` while trickling bytes so that no single read times out.
It can also trickle its greeting, or take the whole server down after some messages.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from smtp_sink import free_port

ACCEPT = "accept"
DROP_BEFORE_DOT = "drop-before-dot"
DROP_AFTER_DOT = "drop-after-dot"
STALL_AFTER_DOT = "stall-after-dot"


@dataclass
class Behaviour:
    """What the server does, shared by all its connections."""

    after_dot: dict[str, list[str]] = field(default_factory=dict)
    """Per recipient, behaviours consumed one per message, then ``ACCEPT``."""
    at_rcpt: dict[str, list[str]] = field(default_factory=dict)
    """Per recipient, replies to RCPT consumed one per attempt, then 250."""
    stall_interval: float = 0.5
    """Seconds between the bytes of a stalled reply or greeting."""
    slow_greeting: bool = False
    down_after: int | None = None
    """Stop the whole server once this many messages were taken."""


class FaultServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.behaviour = Behaviour()
        self.received: Counter[str] = Counter()
        """Messages whose final ``.`` arrived: a real relay would deliver these."""
        self.rcpt_attempts: Counter[str] = Counter()
        self.connections = 0
        self.lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._open: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> FaultServer:
        fault_server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                fault_server._serve(self.request, self.rfile)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection, as a crashed relay does."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self.lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _serve(self, sock: socket.socket, rfile) -> None:
        with self.lock:
            self.connections += 1
            self._open.add(sock)
        try:
            self._greet(sock)
            self._session(sock, rfile)
        except OSError:
            pass
        finally:
            with self.lock:
                self._open.discard(sock)

    def _greet(self, sock: socket.socket) -> None:
        greeting = b"220 faulty.test ESMTP\r\n"
        if not self.behaviour.slow_greeting:
            sock.sendall(greeting)
            return
        for byte in greeting:
            sock.sendall(bytes([byte]))
            time.sleep(self.behaviour.stall_interval)

    def _session(self, sock: socket.socket, rfile) -> None:
        recipient = ""
        while True:
            line = rfile.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                sock.sendall(b"250-faulty.test\r\n250 8BITMIME\r\n")
            elif verb == b"MAIL":
                sock.sendall(b"250 OK\r\n")
            elif verb == b"RCPT":
                recipient = line.decode().partition("<")[2].partition(">")[0]
                sock.sendall(self._rcpt_reply(recipient))
            elif verb == b"DATA":
                if not self._data(sock, rfile, recipient):
                    return
            elif verb == b"QUIT":
                sock.sendall(b"221 Bye\r\n")
                return
            else:
                sock.sendall(b"250 OK\r\n")

    def _rcpt_reply(self, recipient: str) -> bytes:
        with self.lock:
            self.rcpt_attempts[recipient] += 1
            answers = self.behaviour.at_rcpt.get(recipient)
            answer = answers.pop(0) if answers else "250 OK"
        return f"{answer}\r\n".encode()

    def _next_behaviour(self, recipient: str) -> str:
        with self.lock:
            planned = self.behaviour.after_dot.get(recipient)
            return planned.pop(0) if planned else ACCEPT

    def _data(self, sock: socket.socket, rfile, recipient: str) -> bool:
        """One message; False when the connection is to end."""
        behaviour = self._next_behaviour(recipient)
        if behaviour == DROP_BEFORE_DOT:
            return False
        sock.sendall(b"354 Go ahead\r\n")
        while True:
            line = rfile.readline()
            if not line:
                return False
            if line == b".\r\n":
                break
        with self.lock:
            self.received[recipient] += 1
            taken = sum(self.received.values())
        down_after = self.behaviour.down_after
        if down_after is not None and taken >= down_after:
            threading.Thread(target=self.stop, daemon=True).start()
            return False
        if behaviour == DROP_AFTER_DOT:
            return False
        if behaviour == STALL_AFTER_DOT:
            for byte in b"250 taking my time\r\n"[:-2]:
                sock.sendall(bytes([byte]))
                time.sleep(self.behaviour.stall_interval)
            return False
        sock.sendall(b"250 Accepted\r\n")
        return True
