"""Shapes of identifiers that must never be shown, for finding them in free text (a file's name, a message)."""

from __future__ import annotations

# Anything shaped like a UPN, valid or not, inside free text such as a file name: a letter, 11 digits, then
# a digit (permanent) or a letter (temporary), in either case, since a name typed by hand may lower it.
# Only a pupil has one, so it is redacted wherever it is shown, whatever the dataset.
UPN_SHAPED = r"[A-Za-z][0-9]{11}[0-9A-Za-z]"
