"""The scripts that run on the host, each named after the command it installs there.

``february_status.py`` is ``/usr/local/sbin/february-status`` (``layout.STATUS_SCRIPT``),
``february_generation.py`` is ``/usr/local/sbin/february-generation``
(``layout.GENERATION_SCRIPT``). The roles upload them verbatim; they import
nothing but the standard library, and the code here imports them only for
their names and data types. The host's shell scripts that the settings
fill in (``february-acme``, ``february-backup``) are templates, so they live
where every template does, at their target path under ``files/``.
"""
