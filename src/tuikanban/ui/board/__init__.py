"""The board: one screen of stage columns, driven from the keyboard.

- `screen.py`: `BoardScreen` (layout, keys, and the handlers of the jobs' results);
- `state.py`: what the user chose to see (filter, swimlanes) and the session (database, user, read-only);
- `gateway.py`: everything the board reads and writes, run as jobs on the app's lanes (`tuikanban.ui.jobs`);
- `messages.py`: the typed results of those jobs;
- `aging_sync.py`: keeping the cards' aging (and the aging panel) in step with the writes;
- `keys.py`: the key table and the `?` help; `footer.py`: the footer that shows the keys;
- `model.py` (plain data), `view.py`, `card.py`, `column.py`, `header.py`: what is drawn.
"""
