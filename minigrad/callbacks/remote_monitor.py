"""RemoteMonitor: POST each epoch's logs as JSON to an HTTP endpoint."""
from __future__ import annotations

import json
import urllib.parse
import warnings
from typing import Any

from minigrad.callbacks.base import Callback, Logs, register


@register("remote_monitor")
class RemoteMonitor(Callback):
    """Keras RemoteMonitor: at each epoch end POST `{"epoch": e, **logs}` to `root + path`.

    With `send_as_json=True` the body is that JSON object (Content-Type application/json);
    otherwise it is a form field `field=<json>` (application/x-www-form-urlencoded), as Keras does.
    An unreachable server only warns: monitoring must never stop training.
    """

    def __init__(
        self,
        root: str = "http://localhost:9000",
        path: str = "/publish/epoch/end/",
        field: str = "data",
        headers: dict[str, str] | None = None,
        send_as_json: bool = False,
        timeout: float = 5.0,
    ) -> None:
        super().__init__()
        if urllib.parse.urlsplit(root).scheme not in ("http", "https"):
            raise ValueError(f"RemoteMonitor: root must be an http(s) URL, received {root!r}")
        self.root, self.path, self.field = root, path, field
        self.headers = dict(headers or {})
        self.send_as_json = bool(send_as_json)
        self.timeout = float(timeout)

    def get_config(self) -> dict[str, Any]:
        return {
            "root": self.root, "path": self.path, "field": self.field, "headers": self.headers,
            "send_as_json": self.send_as_json, "timeout": self.timeout,
        }

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        import urllib.request  # imported on use: keeps `import minigrad` light

        payload = {"epoch": int(epoch), **{k: _number(v) for k, v in (logs or {}).items()}}
        if self.send_as_json:
            body = json.dumps(payload).encode()
            content_type = "application/json"
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(payload)}).encode()
            content_type = "application/x-www-form-urlencoded"
        request = urllib.request.Request(
            self.root + self.path, data=body, method="POST",
            headers={"Content-Type": content_type, **self.headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except (OSError, ValueError) as e:  # URLError/HTTPError/timeouts are OSErrors
            warnings.warn(
                f"RemoteMonitor: could not reach {self.root + self.path} ({e}); training continues",
                RuntimeWarning, stacklevel=2,
            )


def _number(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value.tolist() if hasattr(value, "tolist") else str(value)
