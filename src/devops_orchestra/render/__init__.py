"""How reports read: one module per report for text and Markdown, and SARIF for any report."""
