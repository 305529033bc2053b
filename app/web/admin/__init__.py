"""The admin console, one module per page group: ``status`` (the landing page), ``institutions``,
``users`` and ``audit``; ``common`` holds their texts and helpers.

The admin console (``/admin``, platform admins only): system status, institutions (create,
rename, suspend, reactivate), accounts (create staff and regulator accounts, lock, unlock, reset a
password) and the audit chains.

The same services as the CLI: :mod:`app.accounts.service` (create) and
:mod:`app.accounts.administration` (the rest), :mod:`app.status` for the status page,
:mod:`app.audit.service` for the entries; downloads link to the export, checkpoint and JWKS
routes that already exist. Plain forms, each post carries the CSRF field; a password is shown
once, on the page the post renders (status 200, never cached, never in a cookie or a URL); other
successes redirect with a flash; a refusal re-renders the page with the reason in words.
"""
