"""`make docs` (python -m dagster_project.lib.data_docs_server): serve the Great Expectations Data
Docs site where check metadata links to it.

Browsers refuse `file://` links from the Dagster UI, so the site is served on SEG_QUALITY_DOCS_URL
(default http://127.0.0.1:3001).
"""

import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from dagster_project.lib.settings import Settings
from data_checks.validation import Validator


def main() -> int:
    settings = Settings.from_env()
    site = Validator.site_root(settings.quality_docs_dir)
    if not (site / "index.html").exists():
        print(f"No Data Docs in {site} yet: run `make run` first.", file=sys.stderr)
        return 1
    address = urlparse(settings.quality_docs_url)
    handler = partial(SimpleHTTPRequestHandler, directory=str(site))
    with ThreadingHTTPServer(
        (address.hostname or "127.0.0.1", address.port or 80), handler
    ) as server:
        print(f"Data Docs: {settings.quality_docs_url}/index.html (files in {site}); Ctrl-C stops.")
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
