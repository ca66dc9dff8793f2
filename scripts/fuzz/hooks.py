"""Schemathesis hooks for Evently's API run (scripts/fuzz-api.sh).

Signs in with the account named by EVENTLY_FUZZ_EMAIL / EVENTLY_FUZZ_PASSWORD and sends
its access token on every request. The fuzzer itself logs out, which voids the caller's
access tokens at once: a 401 then fetches a fresh token and the request is sent again.
"""

import os

import requests
import schemathesis


@schemathesis.auth(refresh_interval=60, retry_on=[401])
class EventlyLogin:
    """An access token of the fuzzing account, fetched again when it stops working."""

    def get(self, case, ctx):
        base = os.environ["EVENTLY_FUZZ_BASE_URL"].rstrip("/")
        res = requests.post(
            base + "/api/v1/auth/login",
            json={"email": os.environ["EVENTLY_FUZZ_EMAIL"], "password": os.environ["EVENTLY_FUZZ_PASSWORD"]},
            timeout=10,
        )
        res.raise_for_status()
        return res.json()["access_token"]

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = "Bearer " + data
