"""Staff pages, one module per page group: the institution's courses (``courses``: drafts
edited, then published and frozen), lessons and the question bank (``content``), each course's
learners, their progress and certificate issue and revocation (``learners``), and the
quarterly subsidy claims (``claims``); ``forms`` holds what they share.

Plain server-rendered forms (no script): every post carries the CSRF field, a refusal re-renders
the form with the input kept and the reason in words next to the field, success redirects with a
flash. Only course authors (``courses.may_author``) use these pages: everyone else gets the
"staff only" page, staff of another institution "not found". Handlers translate HTTP; the rules
live in the services.
"""
