"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1.

It replays queued replies over real HTTP, so tests exercise the whole litellm path. A reply
is a string (the assistant's text), or a dict: {"status": 429} for an HTTP error (with
"retry_after": a Retry-After header), {"hang": seconds} to stall, {"text": ..., "delay": s},
{"text": ..., "trickle": s} to send the reply one byte every s seconds (a stream that never ends
in time). A callable `responder(request)` may pick the reply instead of the queue (useful when
parallel runs share one server).
Like a real provider, it rejects a wrong key (`api_key`) with 401 and, given `models`, a model
it does not serve with 404.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = str | dict[str, Any]


class ScriptedServer:
    def __init__(self, replies: list[Reply] | None = None,
                 responder: Callable[[dict], Reply] | None = None, api_key: str | None = None,
                 models: set[str] | None = None):
        self.replies = list(replies or [])
        self.responder = responder
        self.api_key = api_key
        self.models = models
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()  # a trickling reply stops
        self._server.shutdown()
        self._server.server_close()

    def queue(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def next_reply(self, request: dict) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self.responder is not None:
                return self.responder(request)
            if not self.replies:
                return {"status": 500, "error": "scripted server: no reply queued"}
            return self.replies.pop(0)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                auth = self.headers.get("Authorization", "")
                if server.api_key and auth != f"Bearer {server.api_key}":
                    self._send(401, {"error": {"message": "Incorrect API key provided",
                                               "type": "invalid_request_error",
                                               "code": "invalid_api_key"}})
                    return
                if server.models is not None and body.get("model") not in server.models:
                    with server._lock:
                        server.requests.append(body)
                    self._send(404, {"error": {"message": f"The model `{body.get('model')}` does not exist",
                                               "type": "invalid_request_error", "code": "model_not_found"}})
                    return
                reply = server.next_reply(body)
                if isinstance(reply, dict) and "hang" in reply:
                    time.sleep(reply["hang"])
                    return
                if isinstance(reply, dict) and "status" in reply:
                    headers = {"Retry-After": str(reply["retry_after"])} if "retry_after" in reply else {}
                    self._send(reply["status"], {"error": {"message": reply.get("error", "scripted"),
                                                           "type": "scripted"}}, headers)
                    return
                if isinstance(reply, dict) and "trickle" in reply:
                    self._trickle(_completion(body, reply["text"]), reply["trickle"])
                    return
                if isinstance(reply, dict):
                    time.sleep(reply.get("delay", 0))
                    reply = reply["text"]
                self._send(200, _completion(body, reply))

            def _trickle(self, payload: dict, seconds_per_byte: float) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    for i in range(len(data)):
                        self.wfile.write(data[i:i + 1])
                        self.wfile.flush()
                        if server._closing.wait(seconds_per_byte):
                            return
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


def _completion(request: dict, text: str) -> dict:
    prompt_chars = sum(len(m.get("content") or "") for m in request.get("messages", []))
    usage = {"prompt_tokens": max(1, prompt_chars // 4), "completion_tokens": max(1, len(text) // 4)}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return {
        "id": f"chatcmpl-scripted-{time.time_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "scripted"),
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
        "usage": usage,
    }
