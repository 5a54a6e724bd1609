"""One bench server: `python -m loadtests.serve FACTORY PORT [WORKERS]`.

It runs through `flashsale.process.serve_asgi`, what every service's `__main__` runs
(uvloop, httptools with the slow-client deadlines, no access log, N forked workers), so
every row of `make bench`, the hello included, is served the way production is.
"""

from __future__ import annotations

import sys

from flashsale.process import serve_asgi


def main(factory: str, port: str, workers: str = "1") -> None:
    serve_asgi(factory, "127.0.0.1", int(port), workers=int(workers))


if __name__ == "__main__":
    main(*sys.argv[1:])
