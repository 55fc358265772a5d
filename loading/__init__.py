"""One offered file, start to finish (offer, read, transform, validate, publish), as plain functions."""
