"""The only package that imports streamlit: bootstrap, error display, shared widgets."""

from workbench.ui.bootstrap import Context, bootstrap
from workbench.ui.errors import user_errors

__all__ = ["Context", "bootstrap", "user_errors"]
