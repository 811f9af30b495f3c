"""Polite HTTP for kratom-tracker:

- `charset`: decoding a body to text (header, then the document, then detection). Pure, no HTTP import,
  so `models.Response.text` imports it at module level.
- `client`: `Fetcher`, the one HTTP client of a process: per-host concurrency and delay, robots.txt,
  conditional GET, bounded retries, a body cap counted after decompression. Built on requests.
- `session`: the requests session behind it: pools, the urllib3 retry policy, proxies read once.
- `deadline`: the overall deadline of each request, so a server that drips bytes cannot hold a fetch
  beyond its timeout.

This module imports nothing on purpose: `import kratom_tracker.fetch.charset` must not load requests
(about 40 ms of start-up) for code that only decodes text. Import `Fetcher` from
`kratom_tracker.fetch.client`."""
