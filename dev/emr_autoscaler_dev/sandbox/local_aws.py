"""LocalAws: moto in server mode on a free loopback port, with every boto3 client pointed at it.

Sets AWS_ENDPOINT_URL (honoured by boto3 for every service), fake credentials and a region for the duration of
the context, and restores the environment afterwards. Moto 5 has no EMR managed scaling: while the context runs,
GetManagedScalingPolicy and its siblings are answered by the sandbox's emulator (no policy attached unless one is
put), so a scaler on any local AWS reads "no other scaler" as on a cluster without one.
"""

from __future__ import annotations

import os
import urllib.request
from types import TracebackType
from typing import Any

import boto3

REGION = "eu-west-1"
_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


class LocalAws:
    """LocalAws runs a moto server (a development dependency) and points boto3 at it."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._saved: dict[str, str | None] = {}
        self._clients: dict[str, Any] = {}
        self.endpoint_url = ""
        self._restore_managed_scaling: Any = None

    def __enter__(self) -> LocalAws:
        from emr_autoscaler_dev.sandbox.managed_scaling import ManagedScalingEmulator, patch_managed_scaling

        self._restore_managed_scaling = patch_managed_scaling(ManagedScalingEmulator())
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        env = {**_ENV, "AWS_ENDPOINT_URL": self.endpoint_url}
        self._saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        self.reset()
        return self

    def reset(self) -> None:
        """Reset empties every service: moto's state is per process, so a new LocalAws starts from nothing."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310 - loopback
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - the local moto server
            pass

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.stop()
        if self._restore_managed_scaling is not None:
            self._restore_managed_scaling()
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def session(self) -> boto3.Session:
        """Session is a boto3 session for the local AWS (explicit, so it works outside the context too)."""
        return boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106 - moto's fake key

    def client(self, service: str) -> Any:
        """Client is a boto3 client for `service` bound to the local endpoint (one per service: clients are costly)."""
        if service not in self._clients:
            self._clients[service] = self.session().client(service, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]
        return self._clients[service]


def moto_backends(service: str) -> list[Any]:
    """Moto_backends are the moto backends of `service` in every account and region: moto server files a resource
    under the region of the request that created it."""
    from moto.backends import get_backend

    backends = get_backend(service)  # type: ignore[call-overload]
    return [backends[account][region] for account in backends for region in backends[account]]
