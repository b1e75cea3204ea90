"""Signals other packages subscribe to, so that whitelist never imports them (core ← whitelist ← passes)."""
from blinker import Namespace

_signals = Namespace()

# Sent inside the firm's status-change transaction with: session, firm, action, actor, now.
# Receivers only add and flush; the sender's transaction commits everything or nothing.
firm_status_changed = _signals.signal("firm-status-changed")
