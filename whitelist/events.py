"""Signals other packages subscribe to, so that whitelist never imports them (core ← whitelist ← passes)."""
from blinker import Namespace

_signals = Namespace()

# Sent inside the firm's status-change transaction with: session, firm, action, actor, now.
# Receivers only add and flush; the sender's transaction commits everything or nothing.
firm_status_changed = _signals.signal("firm-status-changed")
# Sent inside a person's or vehicle's status-change transaction with: session, kind ("person" or "vehicle"),
# entry, action ("suspend" or "reinstate"), actor, now. Same rules as above.
entry_status_changed = _signals.signal("entry-status-changed")
