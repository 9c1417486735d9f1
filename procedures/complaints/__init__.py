"""P1, medical-device quality complaints (seed part 1): intake, holds, verification, disposition.

Deadlines from receipt: on-site verification within 24 h for a local buyer (本埠) and 7 days for
an out-of-town one (外埠); a disposition opinion (處置意見) within 3 days for every complaint.
While a complaint is open its batch is on shipment hold (暫停發貨). Conforming: the buyer may
resume sales and the warehouse lifts the hold, within 24 h of the confirmation. Nonconforming:
the quality head is told, the batch stays held and is marked nonconforming, sales stop, every
other buyer of the product is told to suspend sales, the buyer gets a return if the batch has
not expired, and the supplier gets a quality query.

Staff keying in a complaint give when it was received, and its deadlines count from then. An
inquiry or feedback (查詢, 情況反映) is recorded without a hold and answered, unless quality
judges it a quality complaint: from then it is one, held and on P1's clocks.

`intake` records a complaint, `inquiries` answers or judges an inquiry, `handling` carries a
complaint through its transitions, `queries` reads complaints for viewers, the work queue and
the reports; `common` holds what they share.
"""
