"""Donor exports (SPEC §6): results CSV, the IPTT as CSV and Excel, IATI 2.03 XML.

Each export is a generator of bytes over one read-only transaction: rows come from a
server-side cursor (PostgreSQL) or SQLite's own stepping, and are written as they come, so a
million-row file takes as much memory as a thousand rows. `request` parses and checks what was
asked (before any byte is sent), `cells` makes values safe for spreadsheets, and one module per
file renders it; `streaming` carries a generator to an HTTP response, `routes` and
`mne.cli` offer them.
"""
