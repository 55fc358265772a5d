"""The landing zone (what is safe to take, and where it goes) and the downloader that fills it."""
