"""The desk, the browser UI: agent pages, Talk pages, admin pages, the live
connection that pushes HTML fragments, and the read models those pages show."""
