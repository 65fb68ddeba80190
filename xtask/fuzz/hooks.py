"""Schemathesis hooks for `cargo xtask fuzz` (loaded through its generated config).

A real client sends a fresh Idempotency-Key with every new request and the same key only when
it retries that request. Schemathesis draws keys from the header's schema, so it sends the same
short key ("0", "!") with unrelated requests; the services then rightly answer 422 (key reused
for a different request) or replay an earlier answer, and the fuzzer would be testing its own
key collisions. So every key the schema allows is replaced by a fresh one; malformed keys
(negative cases) are sent as generated, and must still get 400.
"""

import re
import uuid

import schemathesis

# The header's schema in every document: 1 to 255 visible ASCII characters but `"`.
VALID_KEY = re.compile(r"[!#-~]{1,255}")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    for name, value in list((case.headers or {}).items()):
        if name.lower() == "idempotency-key" and isinstance(value, str) and VALID_KEY.fullmatch(value):
            case.headers[name] = f"fuzz-{uuid.uuid4().hex}"
