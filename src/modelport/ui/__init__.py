"""modelport's web UI: tracking pages and a chat playground, served under ``/ui``.

``modelport ui`` serves it over a tracking store (:func:`create_ui_app`); ``modelport serve
--ui`` adds it to a model server (:func:`install_ui`). The page is static (``static/``) and reads
the JSON API of :mod:`modelport.ui.api`, so it has no other way to the store.
"""

from modelport.ui.app import create_ui_app, install_ui

__all__ = ["create_ui_app", "install_ui"]
