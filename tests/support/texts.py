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

# Another militia that fled (issue 35): "Where did the militia flee to?" asked alone finds this
# airfield's militia; as a reply to an answer about Tripoli airport it asks about that one.
AIRFIELD = """---
title: Rebels leave Marden airfield
source: Test fixture
published: 2020-06-03
---
Army units took back the Marden airfield on Thursday, and the militia that had held it fled.

Witnesses said the militia fled to Oskar Ridge, a line of hills east of the town, leaving its
trucks behind.

Engineers began clearing the runway, which the army hopes to reopen to cargo flights within a
month.
"""

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

FUNDS = """---
title: Libya takes $1bn in unfrozen funds
source: Test fixture
published: 2005-01-25
---
Libya has withdrawn $1bn in assets from the US, assets which had previously been \
frozen for almost 20 years, the Libyan central bank has said.

The money was released after Washington lifted most of its trade ban on the country last year,
officials in the capital said on Tuesday.

The central bank said it had opened new accounts with several European banks and would use the
money to pay for imports of machinery and medicine.

Libya expects trade with American companies to grow quickly now that the ban is over, a bank
spokesman added.
"""

LEBANON = """---
title: Tripoli port reopens after storm
source: Test fixture
published: 2005-01-26
---
The port of Tripoli in northern Lebanon reopened on Monday, three days after a winter storm
damaged two of its quays and sank a fishing boat.

Harbour officials said cargo ships waiting offshore had begun to unload grain and building
materials, and that repairs to the damaged quays would take about a month.

Fishermen in the city said the storm was the worst they had seen in a decade.
"""

LIBERIA = """---
title: Liberia counts votes after presidential election
source: Test fixture
published: 2005-01-27
---
Election officials in Liberia began counting ballots on Wednesday after a presidential vote that
observers described as calm and orderly.

Turnout was high in the capital, Monrovia, where voters queued for hours in the rain outside
polling stations.

The national election commission said provisional results would be announced within a week.
"""

# Articles in other scripts (issue 22): the Arabic one declares no language (it is read off its
# text), the Chinese one declares it.
BRIDGE_AR = """---
title: افتتاح جسر الوادي الأخضر
source: Test fixture
published: 2026-11-29
---
افتتحت بلدية الوادي الأخضر يوم الأحد جسرًا جديدًا فوق النهر بطول 420 مترًا. \
وقال رئيس البلدية إن الجسر سيختصر الطريق إلى المستشفى الرئيسي بنحو عشرين دقيقة.

هل يكفي الجسر وحده؟ يرى المهندسون أن الطريق الدائري يحتاج إلى توسعة قبل نهاية العام، \
وأن كلفتها تبلغ نحو ثلاثة ملايين دينار.
"""
METRO_ZH = """---
title: 新港地铁三号线开通
source: Test fixture
published: 2026-11-30
language: zh
---
新港市的地铁三号线于周一正式开通，全长二十七公里，共设十八个车站。市政府表示，这条线路每天可运送约四十万名乘客！

票价会上涨吗？交通局说，明年之前票价将保持不变。
"""
