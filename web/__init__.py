"""The Litestar web application."""
