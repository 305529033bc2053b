"""What the REST API (app/api) and the pages (app/web) share: the request's unit of work,
sign-in cookies and CSRF, the client's address, and face-frame uploads. HTTP modules import
from here, never from each other."""
