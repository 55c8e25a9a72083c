"""The web page (`leadup web`): a face of the engine for people who upload lists by hand.

Drop a file, check how its columns were understood and fix them, upload it and watch it go,
act on the results, quote it first, run scheduled jobs. It calls the same engine functions as
the CLI (`uploader.run`) and shows the same outcomes and results file.

Modules: config (what it starts with), workspace (private folders of dropped files), session
(token, cookie, Host and Origin checks, response headers), checking (column choices and the
preview), runs (runs on the server's loop and their live state), state (what handlers share),
pages (home, check), runpages (run, quote, events, downloads), jobs_page (`--jobs`), app (the
routes and the server), command (`leadup web`).
"""

from uploader.web.app import WebServer, build_app, serve
from uploader.web.config import WebConfig

__all__ = ["WebConfig", "WebServer", "build_app", "serve"]
