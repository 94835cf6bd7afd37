"""Articles in: reading corpus files (text, Markdown, HTML), front matter, dates, and adding new ones."""
