"""The trust SEND report: needs beside funding for one trust, as a self-contained HTML page with its tables."""
