"""The synthetic pupil census: draws that match the published counts, and the CSV/XML writers."""
