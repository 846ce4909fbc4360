"""A resolver for the browser's guard proxy (SERPWATCH_BROWSER_RESOLVER) that knows `.test`.

Every `*.test` name resolves to 127.0.0.1, as a hostile zone would point a
public-looking name at our loopback (DNS rebinding); other names go to the
system resolver.
"""

from __future__ import annotations

from crawler.render.proxy import system_resolve


async def resolve(host: str, port: int) -> list[str]:
    if host.endswith(".test"):
        return ["127.0.0.1"]
    return await system_resolve(host, port)
