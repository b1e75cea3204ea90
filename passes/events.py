"""Signals other packages subscribe to, so that passes never imports them (passes ← checkpoints ← logistics)."""
from blinker import NamedSignal, Namespace

_signals = Namespace()

# Sent inside the scan's transaction when a pass is accepted at a site, with: session, vpass, site, at, actor.
pass_accepted = _signals.signal("pass-accepted")

# Questions pass issuance asks of checkpoints, which passes must not import; factory.create_app connects
# exactly one receiver to each, and `ask` returns its answer.
# With: session, person_ids, firm_id, now. Answers [(person_id, name)] of the drivers whose latest health
# test result (under any firm's record of the same identity) is positive, by person id.
drivers_tested_positive = _signals.signal("drivers-tested-positive")
# With: session, crossing_site_id, yard_site_id. Answers the problems of that route (empty when it is usable).
route_problems = _signals.signal("route-problems")


def ask(question: NamedSignal, sender, **kwargs):
    """The one receiver's answer to `question`; raises RuntimeError when the factory did not wire it (a pass
    must never be issued because a check silently found nobody to ask)."""
    answers = question.send(sender, **kwargs)
    if len(answers) != 1:
        raise RuntimeError(f"{question.name} needs exactly one receiver (factory.create_app), has {len(answers)}")
    return answers[0][1]
