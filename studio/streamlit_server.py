"""Start the Streamlit app (`app.py`) with Streamlit's legacy `pages/` discovery switched off.

`app.py` lists its pages with `st.navigation`, which turns the old auto-discovery of `pages/`
off, but only once it has run: until some visitor has opened the home page, a deep link such as
`/runs?run=ID` would get the auto-discovered pages (helpers included) instead. Setting the flag
`st.navigation` sets before the server starts gives every visitor the real navigation.

    python -m studio.streamlit_server [streamlit run options]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"
# OpenMP threads sleep when idle instead of spinning: see engine/__main__.py
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(options: list[str]) -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False
    # a served app, not a dev loop: no watching of the checkout for edits (its inotify queue
    # overflowed into the log), no Deploy button in the toolbar
    defaults = ["--server.fileWatcherType", "none", "--client.toolbarMode", "viewer"]
    sys.argv = ["streamlit", "run", str(APP), *defaults, *options]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
