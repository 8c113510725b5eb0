"""Texts the tests share: the seed question, articles for the news site and the corpus."""

from __future__ import annotations

QUESTION = "How far is Qasr Bin Ghashir from Tripoli?"


def answered(api, chat) -> list[dict]:
    return [m for m in api.messages_to(chat) if "26 km" in m["text"]]


FLOOD = ["Rescue teams reached the flooded Ardent valley on Friday after three days of heavy "
         "rain cut off twelve villages from the regional capital.",
         "The regional governor said that about 4,000 people had been moved to schools and "
         "sports halls on higher ground, and that no deaths had been reported.",
         "Engineers expect the main bridge over the river to reopen within a week, once the "
         "water level has fallen by at least two metres."]
PORT = ["The port of Kessel handled a record 2.4 million containers last year, its operator "
        "announced on Tuesday, helped by a new deep-water berth.",
        "The operator plans to double the number of cranes on the northern quay by 2026, at a "
        "cost of about 300 million euros."]
MUSEUM = ["The city museum reopened its west wing after a two-year renovation that restored "
          "the original glass roof and added a new gallery for textiles.",
          "Admission to the new gallery is free for the first month, the museum's director said "
          "at the opening ceremony."]

LIBYA = """---
title: Ceasefire talks resume in Libya
source: Example Wire
url: https://example.org/libya-talks
published: 2020-06-05
---
Delegations from both sides of the conflict in Libya met in Geneva on Friday to resume
ceasefire talks under United Nations auspices.

The talks follow weeks of fighting around Tripoli.
"""
