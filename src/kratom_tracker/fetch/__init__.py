"""Polite HTTP for kratom-tracker, in three parts:

- `charset`: decoding a body to text (header, then the document, then detection). Pure, no HTTP import,
  so `models.Response.text` imports it at module level.
- `client`: `Fetcher`, the one HTTP client of a process: per-host concurrency and delay, robots.txt,
  conditional GET, bounded retries, a body cap counted after decompression. Built on requests.
- `deadline`: the overall per-request deadline the client arms, so a server that drips bytes cannot hold
  a fetch beyond its timeout.

This module imports nothing on purpose: `import kratom_tracker.fetch.charset` must not load requests
(about 60 ms of start-up) for code that only decodes text. Import `Fetcher` from
`kratom_tracker.fetch.client`."""
