"""A scripted OpenAI-compatible chat server on loopback, for tests and the drafting benchmark.

litellm talks to it over real HTTP (``model="openai/NAME"``,
``api_base=server.api_base``). Each request is recorded (``requests``: the
parsed JSON bodies) and answered by a ``Reply`` taken from ``script`` in order;
when the script is used up, ``default`` answers (by default a valid draft that
names the account found in the prompt).

    with LLMServer() as srv:
        srv.script = [Reply(status=429), Reply(content=...)]
        ...
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer: an HTTP status, the message content, an optional delay."""

    status: int = 200
    content: str | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


_ACCOUNT = re.compile(r"ACCOUNT (.+?) \(([^()]+)\)\n")


def draft_json(account: str = "the account", body_extra: str = "", confidence: float = 0.8) -> str:
    """A valid JSON draft naming ``account``."""
    return json.dumps(
        {
            "subject": f"Renewal check-in for {account}",
            "body": f"Renewal review for {account}.\n\nCould we find 30 minutes to review how "
            f"things are going before the renewal?{body_extra}\n\nBest regards",
            "summary": f"Check-in with {account} ahead of renewal.",
            "rationale": "Health is low and the renewal is close.",
            "confidence": confidence,
        }
    )


def echo_account(request: dict[str, Any]) -> Reply:
    """The default answer: a valid draft naming the account in the first user message."""
    texts = [m.get("content") for m in request["messages"] if m.get("role") == "user"]
    text = texts[0] if texts else None
    found = _ACCOUNT.search(text) if isinstance(text, str) else None
    return Reply(content=draft_json(found.group(1) if found else "the account"))


class LLMServer:
    """Start with ``with LLMServer() as srv`` (or ``start()``/``stop()``)."""

    def __init__(
        self, default: Callable[[dict[str, Any]], Reply] = echo_account, delay: float = 0.0
    ) -> None:
        self.default = default
        self.delay = delay
        self.script: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.auth_headers: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def api_base(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _next(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self.script:
                return self.script.pop(0)
        reply = self.default(request)
        if self.delay and not reply.delay:
            reply.delay = self.delay
        return reply

    def start(self) -> LLMServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without TCP_NODELAY each response waits ~40 ms for a delayed ACK.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def do_GET(self) -> None:  # /v1/models
                owner.paths.append(self.path)
                self._send(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]}, {})

            def do_POST(self) -> None:
                owner.paths.append(self.path)
                owner.auth_headers.append(self.headers.get("Authorization", ""))
                n = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(n) or b"{}")
                reply = owner._next(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.status != 200:
                    err = {"error": {"message": f"scripted {reply.status}", "type": "error"}}
                    self._send(reply.status, err, reply.headers)
                    return
                content = reply.content if reply.content is not None else draft_json()
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{len(owner.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": request.get("model", "fake"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {
                            "prompt_tokens": 120,
                            "completion_tokens": 60,
                            "total_tokens": 180,
                        },
                    },
                    reply.headers,
                )

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self, default: Callable[[dict[str, Any]], Reply] = echo_account) -> LLMServer:
        """Forget the script, the record and the delay; answer with ``default``."""
        with self._lock:
            self.script.clear()
            self.requests.clear()
        self.paths.clear()
        self.auth_headers.clear()
        self.delay = 0.0
        self.default = default
        return self

    def user_texts(self) -> list[str]:
        """Every message text the server received, for redaction checks."""
        out = []
        for r in self.requests:
            for m in r.get("messages", []):
                c = m.get("content")
                out.append(c if isinstance(c, str) else json.dumps(c))
        return out
