"""GET a ResourceManager REST URL: http only, no redirect followed, no proxy, bounded in time and size.

The ResourceManager REST API answers JSON ("ResourceManager REST API's",
https://hadoop.apache.org/docs/current/hadoop-yarn/hadoop-yarn-site/ResourceManagerRest.html); anything else is a
ResourceManagerUnansweredError naming why, with the HTTP status and, for a redirect, its Location (judged by the
caller: see active_rm.py).
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from emr_autoscaler.adapters.direct_http import direct_opener

# A clusterMetrics answer is about 1 KB; anything far larger is not the ResourceManager.
_MAX_BODY_BYTES = 1 << 20


# Only addresses EMR gave: no redirect followed by urllib, no proxy (ActiveResourceManagers judges a standby's 307).
_OPENER = direct_opener()


class ResourceManagerUnansweredError(Exception):
    """ResourceManagerUnansweredError: the RM gave no usable answer; `reason` says why, `status` is its HTTP code,
    `location` the Location header of a redirect (a standby RM's 307 names the active one), never followed here."""

    def __init__(self, reason: str, status: int | None = None, location: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.location = location


def get_json(url: str, timeout_s: float, max_bytes: int = _MAX_BODY_BYTES) -> Any:
    """Get_json GETs a ResourceManager REST URL (http only, no redirect, no proxy) and parses its JSON body.

    Times out after `timeout_s` per connect and per read; raises ResourceManagerUnansweredError for anything but a
    200 with at most `max_bytes` of JSON.
    """
    if urllib.parse.urlsplit(url).scheme != "http":
        raise ResourceManagerUnansweredError(f"refusing non-http URL {url!r}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"}, method="GET")  # noqa: S310
    try:
        # The scheme was checked to be http above, so no file:// or other handler can be reached.
        with _OPENER.open(request, timeout=timeout_s) as response:
            status = response.status
            body: bytes = response.read(max_bytes + 1)
    except urllib.error.HTTPError as error:
        location = error.headers.get("Location") if error.headers is not None and 300 <= error.code < 400 else None
        raise ResourceManagerUnansweredError(f"{url} answered HTTP {error.code}", error.code, location) from None
    except (OSError, http.client.HTTPException, ValueError) as error:
        # OSError covers URLError, refused connections and timeouts (TimeoutError).
        raise ResourceManagerUnansweredError(f"{url} could not be read ({type(error).__name__}: {error})") from None
    if status != 200:
        raise ResourceManagerUnansweredError(f"{url} answered HTTP {status}", status)
    if len(body) > max_bytes:
        raise ResourceManagerUnansweredError(f"{url} answered with more than {max_bytes} bytes")
    try:
        return json.loads(body)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise ResourceManagerUnansweredError(f"{url} answered with something that is not JSON ({error})") from None
