"""Summaries: storage, public look-up, and drafts from the target page."""
