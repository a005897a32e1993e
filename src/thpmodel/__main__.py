"""``python -m thpmodel``: the scenario table (see ``thpmodel.table``)."""

from __future__ import annotations

from thpmodel.table import main

raise SystemExit(main())
