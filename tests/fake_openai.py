"""A tiny OpenAI chat-completions server on 127.0.0.1 for offline tests of the HTTP path.

Each request takes the next scripted step: `Reply(text)` (a completion, streamed as SSE when the
request asks for it), `Status(code)` (an OpenAI-style error: 429, 500, 401...), `Sleep(s)`
(hold the request longer than the client's timeout), `Babble(rate)` (a model that never stops:
it emits tokens until the request's `max_tokens`, then ends with `finish_reason: length`, and
without `max_tokens` until the client or the server gives up) or `Cut(text, chunked=True)` (a
chunked body that breaks off mid-chunk, streamed or not). The script is a list, or a
function of the request's number (0, 1, ...) for endless faults such as 30% of 500s. The server
listens on a free port, records every request with its arrival time and the most requests it
held at once (`peak`), and shuts itself down on exit or after `lifetime` seconds, whichever
comes first.

`python -m tests.fake_openai SCENARIO` serves one of `SCENARIOS` until interrupted and prints
its base URL: the manual twin of the tests."""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERROR_TYPES = {401: "invalid_request_error", 403: "permission_denied", 429: "rate_limit_exceeded",
               500: "server_error"}
SUMMARY = json.dumps({"summary": "The account needs attention this week; the CSM follows the "
                                 "plan with the client."})


@dataclass(frozen=True)
class Reply:
    """A successful completion with this text, after `delay` seconds."""

    text: str
    delay: float = 0.0


@dataclass(frozen=True)
class Status:
    """An error response with this HTTP status. Retryable ones (429, 5xx) say
    `retry-after-ms: 10` unless `retry_after` gives the `retry-after` header (seconds)."""

    code: int
    message: str = "scripted error"
    retry_after: str | None = None


@dataclass(frozen=True)
class Sleep:
    """Answer nothing for this many seconds (cut short when the server stops)."""

    seconds: float


@dataclass(frozen=True)
class Babble:
    """A model that never stops emitting tokens, `rate` a second, until `max_tokens`."""

    rate: float = 200.0


@dataclass(frozen=True)
class Cut:
    """An answer cut off after `text`: with `chunked`, the chunked HTTP body breaks off
    mid-chunk and the connection closes (a dropped connection, for any request)."""

    text: str
    chunked: bool = False


Step = Reply | Status | Sleep | Babble | Cut
Script = list[Step] | Callable[[int], Step]


def flaky(share: float, seed: int = 7, reply: str = SUMMARY) -> Callable[[int], Step]:
    """A script in which `share` of the requests fail with a 500 (seeded), the rest answer."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def step(_: int) -> Step:
        with lock:
            return Status(500) if rng.random() < share else Reply(reply)

    return step


def always(step: Step) -> Callable[[int], Step]:
    """A script that answers every request the same way."""
    return lambda _: step


class FakeOpenAI:
    """`with FakeOpenAI([Status(429), Reply("hi")]) as server:` then use `server.base_url`."""

    def __init__(self, script: Script, lifetime: float = 30.0, port: int = 0) -> None:
        self.script = script if callable(script) else list(script)
        self.requests: list[dict[str, Any]] = []
        self.times: list[float] = []  # time.monotonic() of each request's arrival
        self.active = self.peak = 0  # requests being answered now, and the most at once
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
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
            number = len(self.requests)
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.requests.append(body)
            self.times.append(time.monotonic())
            if callable(self.script):
                return self.script(number)
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
                    if isinstance(step, Reply) and step.delay:
                        server.stopped.wait(step.delay)
                    if isinstance(step, Babble):
                        self._babble(step, body)
                    elif isinstance(step, Cut):
                        self._cut(step, body.get("model", "fake"))
                    elif isinstance(step, Status):
                        self._error(step)
                    elif body.get("stream"):
                        self._stream(step.text, body.get("model", "fake"))
                    else:
                        self._json(200, _completion(step.text, body.get("model", "fake")))
                except (BrokenPipeError, ConnectionResetError):  # the client gave up
                    return
                finally:
                    with server._lock:
                        server.active -= 1

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
                retry: dict[str, str] = {}
                if step.retry_after is not None:
                    retry = {"retry-after": step.retry_after}
                elif step.code in (429, 500, 502, 503):
                    retry = {"retry-after-ms": "10"}
                self._json(step.code, {"error": error}, retry)

            def _babble(self, step: Babble, body: dict[str, Any]) -> None:
                limit = body.get("max_completion_tokens") or body.get("max_tokens")
                tokens = 0
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                while (limit is None or tokens < limit) and not server.stopped.is_set():
                    tokens += 1
                    if body.get("stream"):
                        self._event(_chunk(body.get("model", "fake"), {"content": " la"}, None))
                    time.sleep(1 / step.rate)
                if server.stopped.is_set():
                    return
                text = '{"summary": "' + "la " * tokens  # cut off: no closing quote
                if body.get("stream"):
                    self._event(_chunk(body.get("model", "fake"), {}, "length"))
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                else:
                    self._json(200, _completion(text, body.get("model", "fake"), "length"))

            def _stream(self, text: str, model: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                pieces = [text[i:i + 4] for i in range(0, len(text), 4)] or [""]
                for i, piece in enumerate(pieces):
                    delta = {"content": piece, **({"role": "assistant"} if i == 0 else {})}
                    self._event(_chunk(model, delta, None))
                self._event(_chunk(model, {}, "stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _cut(self, step: Cut, model: str) -> None:
                text = step.text[: len(step.text) // 2]
                events = [b"data: " + json.dumps(_chunk(model, {"content": text}, None)).encode()
                          + b"\n\n"]
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


def _completion(text: str, model: str, finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


SCENARIOS: dict[str, Callable[[], Script]] = {
    "ok": lambda: always(Reply(SUMMARY)),
    "slow": lambda: always(Reply(SUMMARY, delay=1.0)),
    "hang": lambda: always(Sleep(3600)),
    "401": lambda: always(Status(401, "Incorrect API key provided")),
    "403": lambda: always(Status(403, "This key may not use this model")),
    "429": lambda: always(Status(429, "Rate limit reached", retry_after="2")),
    "flaky": lambda: flaky(0.3),
    "babble": lambda: always(Babble(1000)),
    "cut": lambda: always(Cut(SUMMARY, chunked=True)),
}


def main() -> None:
    """Serve a named scenario until interrupted; print the base URL, then the request count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with FakeOpenAI(SCENARIOS[args.scenario](), lifetime=86400, port=args.port) as server:
        print(server.base_url, flush=True)
        try:
            server.stopped.wait()
        except KeyboardInterrupt:
            pass
    print(f"{len(server.requests)} requests", flush=True)


if __name__ == "__main__":
    main()
