"""The SQL/Markdown notebook: model, JSON store, read-only runner and charts."""

from workbench.notebook.charts import chart_for
from workbench.notebook.model import (
    Cell,
    CellKind,
    ChartMark,
    ChartSpec,
    Notebook,
    add_cell,
    get_cell,
    move_cell,
    new_cell,
    new_notebook,
    remove_cell,
    rename,
    replace_cell,
    set_chart,
    update_source,
)
from workbench.notebook.runner import CellResult, check_read_only, run_sql
from workbench.notebook.store import (
    default_notebook,
    delete_notebook,
    list_notebooks,
    load_notebook,
    notebooks_dir,
    save_notebook,
)

__all__ = [
    "Cell",
    "CellKind",
    "CellResult",
    "ChartMark",
    "ChartSpec",
    "Notebook",
    "add_cell",
    "chart_for",
    "check_read_only",
    "default_notebook",
    "delete_notebook",
    "get_cell",
    "list_notebooks",
    "load_notebook",
    "move_cell",
    "new_cell",
    "new_notebook",
    "notebooks_dir",
    "remove_cell",
    "rename",
    "replace_cell",
    "run_sql",
    "save_notebook",
    "set_chart",
    "update_source",
]
