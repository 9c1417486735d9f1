"""P2, returns and exchanges (seed part 2, 4.2): the detail sheet (調退貨明細表) and its review.

An unsalable (不適銷) exchange is checked against the organisation's exchange ratio and window
(master data): inside, after-sales signs and the business head approves; outside, it is refused
with the figures, and after-sales may take it to the company leader, whose decision is final. A
quality return is signed by the after-sales head and approved by the business head, who tells
the customer to send the goods. The driver collects them only against the transport order
(退貨運輸單) the after-sales head issues when the freight station reports them; QC inspects
every return; the warehouse books them in only with all three signatures (after-sales, business
head, QC), exchanges like for like or, for quality, refunds (finance records the credit); the
return slip (退貨單) reaches the customer by 12:00 the next day.

`intake` files a return (also the one a nonconforming complaint starts), `review` signs and
approves it, `goods` carries the goods back and settles them, `ratio` computes the exchange
ratio, `queries` reads returns and the month's statistics; `common` holds what they share.
"""

from procedures.returns.intake import start_quality_return
from procedures.returns.queries import monthly_statistics

__all__ = ["monthly_statistics", "start_quality_return"]
