"""Polite HTTP for kratom-tracker:

- `client`: `Fetcher`, the one HTTP client of a process: per-host concurrency and delay, robots.txt,
  conditional GET, bounded retries, a body cap counted after decompression. Built on requests.
- `session`: the requests session behind it: pools, the urllib3 retry policy, proxies read once.
- `deadline`: the overall deadline of each request, so a server that drips bytes cannot hold a fetch
  beyond its timeout.

This module imports nothing on purpose: importing the package must not load requests (about 40 ms of
start-up) for code that only needs its names. Import `Fetcher` from `kratom_tracker.fetch.client`; decoding
a body to text lives below this layer, in `kratom_tracker.charset`."""
