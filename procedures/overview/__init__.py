"""The heads' overview of the records (the Mini App's read side): lists with filters, a record's
page, and the charts, read through each record type's queries and reader sets."""
