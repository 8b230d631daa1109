"""The board's dialogs and what they are made of.

`base` (`Dialog`, `FormDialog`: the look, database jobs, field-to-field keys), `fields` (the field widgets, inline
errors, key hints, literal text), `keys` (keys typed fast land where they were typed), and the generic dialogs:
`confirm` (yes / no), `reason` (pick or type a reason), `ask` (one line of text, checked by a job).
"""
