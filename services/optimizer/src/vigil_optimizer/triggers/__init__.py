"""What starts camera reviews: degraded health (``vigil:health``), the operators' requests
(``vigil:optimizer:requests``) and the periodic review of the whole fleet (leader only).

Every trigger hands reviews to :class:`vigil_optimizer.scheduler.FleetScheduler`; the
``cameras`` facts they need (which cameras are reviewable, their site and expected frame
rate) come from :mod:`vigil_optimizer.triggers.cameras`, unreadable stream entries go to the
dead-letter stream through :mod:`vigil_optimizer.triggers.entries`.
"""
