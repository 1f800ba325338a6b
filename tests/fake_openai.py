"""A tiny OpenAI chat-completions server on 127.0.0.1 for offline tests of the HTTP path.

Each request takes the next scripted step: `Reply(text)` (a completion, streamed as SSE when the
request asks for it; with `tool_calls`, a tool-calling answer whose arguments are sent as given,
JSON or not), `Status(code)` (an OpenAI-style error: 429, 500, 401...), `Sleep(s)` (hold the
request longer than the client's timeout) or `Cut(text)` (a stream that ends before its last
event, or with `chunked`, a chunked body cut off mid-chunk). It listens on a free port, records
every request, and shuts itself down on exit or after `lifetime` seconds, whichever comes
first."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERROR_TYPES = {401: "invalid_request_error", 429: "rate_limit_exceeded", 500: "server_error"}


@dataclass(frozen=True)
class Reply:
    """A successful completion with this text and these tool calls: (name, raw arguments)."""

    text: str
    tool_calls: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Status:
    """An error response with this HTTP status (retryable ones say `retry-after-ms: 10`)."""

    code: int
    message: str = "scripted error"


@dataclass(frozen=True)
class Sleep:
    """Answer nothing for this many seconds (cut short when the server stops)."""

    seconds: float


@dataclass(frozen=True)
class Cut:
    """A streamed answer cut off after `text`: without `chunked`, the SSE stream stops with no
    finish_reason and no [DONE]; with it, the chunked HTTP body breaks off mid-chunk."""

    text: str
    chunked: bool = False


Step = Reply | Status | Sleep | Cut


class FakeOpenAI:
    """`with FakeOpenAI([Status(429), Reply("hi")]) as server:` then use `server.base_url`."""

    def __init__(self, script: list[Step], lifetime: float = 30.0) -> None:
        self.script = list(script)
        self.requests: list[dict[str, Any]] = []
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    @property
    def base_url(self) -> str:
        """The `base_url` for an OpenAI client."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving (idempotent); sleeping requests wake up and end."""
        if self.stopped.is_set():
            return
        self.stopped.set()
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    def _next(self, body: dict[str, Any]) -> Step:
        with self._lock:
            self.requests.append(body)
            return self.script.pop(0) if self.script else Status(400, "no scripted answer left")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    body = {}
                step = server._next(body)
                try:
                    if isinstance(step, Sleep):
                        server.stopped.wait(step.seconds)
                        return
                    if isinstance(step, Status):
                        self._error(step)
                    elif isinstance(step, Cut):
                        self._cut(step, body.get("model", "fake"))
                    elif body.get("stream"):
                        self._stream(step, body.get("model", "fake"))
                    else:
                        self._json(200, _completion(step, body.get("model", "fake")))
                except (BrokenPipeError, ConnectionResetError):  # the client gave up
                    return

            def _json(self, code: int, payload: dict[str, Any],
                      headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _error(self, step: Status) -> None:
                error = {"message": step.message, "type": ERROR_TYPES.get(step.code, "error"),
                         "param": None, "code": None}
                retry = {"retry-after-ms": "10"} if step.code in (429, 500, 502, 503) else {}
                self._json(step.code, {"error": error}, retry)

            def _stream(self, step: Reply, model: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for event in _pieces(step.text, model):
                    self._event(event)
                for i, (name, arguments) in enumerate(step.tool_calls):
                    call = {"index": i, "id": f"call-{i}", "type": "function",
                            "function": {"name": name, "arguments": arguments}}
                    self._event(_chunk(model, {"tool_calls": [call]}, None))
                self._event(_chunk(model, {}, "tool_calls" if step.tool_calls else "stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _cut(self, step: Cut, model: str) -> None:
                events = [b"data: " + json.dumps(e).encode() + b"\n\n"
                          for e in _pieces(step.text, model)]
                if not step.chunked:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for event in events:
                        self.wfile.write(event)
                    self.wfile.flush()
                    return
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                 b"Transfer-Encoding: chunked\r\n\r\n")
                for event in events:
                    self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                self.wfile.write(b"400\r\ndata: {\"cho")  # promises 1024 bytes, sends 11
                self.wfile.flush()
                self.close_connection = True

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
                self.wfile.flush()

        return Handler


def _completion(step: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": step.text}
    if step.tool_calls:
        message["tool_calls"] = [
            {"id": f"call-{i}", "type": "function",
             "function": {"name": name, "arguments": arguments}}
            for i, (name, arguments) in enumerate(step.tool_calls)
        ]
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "logprobs": None, "message": message,
                     "finish_reason": "tool_calls" if step.tool_calls else "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _pieces(text: str, model: str) -> list[dict[str, Any]]:
    """The content of a streamed answer in chunks of 4 characters (the first with the role)."""
    pieces = [text[i:i + 4] for i in range(0, len(text), 4)] or [""]
    return [_chunk(model, {"content": piece, **({"role": "assistant"} if i == 0 else {})}, None)
            for i, piece in enumerate(pieces)]


def _chunk(model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }
