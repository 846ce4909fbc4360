"""The guard between the crawler and the pages criminals wrote (docs/SECURITY.md).

- `netguard`: the SSRF policy, pure: which URLs and addresses a crawl may reach.
- `resolver`: the same policy at the connection (DNS resolver, connection pool).
- `limits`: the bounds, pure: executables and archives, nesting depth, Retry-After.
- `middlewares`: the Scrapy downloader middlewares that apply them, named in
  `crawler.settings.DOWNLOADER_MIDDLEWARES` by the path DESIGN.md gives,
  `crawler.middlewares` (a thin re-export of this module).
"""
