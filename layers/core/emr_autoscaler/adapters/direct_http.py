"""direct_opener: a urllib opener that neither follows redirects nor uses a proxy from the environment.

Both HTTP adapters talk only to an address they were given (the master node from DescribeCluster; a webhook from
Secrets Manager): a redirect comes back as an HTTPError for the caller to judge, and HTTP(S)_PROXY is ignored so no
proxy ever sees (or reroutes) the request.
"""

from __future__ import annotations

import urllib.request


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """_NoRedirect hands 3xx answers back as HTTPError."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: object,
        code: int,
        msg: str,
        headers: object,
        newurl: str,
    ) -> None:
        return None


def direct_opener() -> urllib.request.OpenerDirector:
    """Direct_opener builds the opener: no proxy, no redirects followed."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
