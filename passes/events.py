"""Signals other packages subscribe to, so that passes never imports them (passes ← logistics)."""
from blinker import Namespace

_signals = Namespace()

# Sent inside the scan's transaction when a pass is accepted at a site, with: session, vpass, site, at, actor.
pass_accepted = _signals.signal("pass-accepted")
