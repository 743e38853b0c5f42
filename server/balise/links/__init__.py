"""Links: slugs and targets, their storage, listing, and the reader path's cache."""
