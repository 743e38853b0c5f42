"""Click analytics: who asked, what is stored per click, visitors, and statistics."""
