"""The single front door and the regional life-sciences portal.

Public listings (assets, opportunities, challenges, events, the showcase), enquiry intake with
declarative triage to pathways, account management of cases (status machine, SLA timers, tasks,
messages, documents, history) and the operator's dashboard. Figures about patients come only
through the execution path (``phta.execution``) under the standing purpose ``public_statistics``.
"""
