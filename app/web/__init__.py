"""The browser doors: desk and admin pages (server-rendered, htmx)."""
