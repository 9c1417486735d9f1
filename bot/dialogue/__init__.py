"""The dialogue toolkit: the steps every dialogue shares (`steps`: choose from buttons, type a
text or a number with its unit, photos then Done, a summary then Submit; a label photo is
bot.label_photos), written once for the intakes (`Intake`, with its expiring draft) and the staff
dialogues on a record (`StaffDialogue`: a patrol, a repair, an inspection, a verification, a
score); the guards they share (a dialogue whose state is gone, a wrong button, cancel), what each
state accepts (`states`), the keyboards that last as long as their step (`keyboards`) and typed
access to what an update carries (`updates`). It builds on bot.conversations (persistent,
re-enterable dialogues with /cancel everywhere)."""
