"""The dialogue toolkit: the steps the intake dialogues share (`steps`: choose from buttons, type
a text or a number with its unit, photos then Done, a summary then Submit; a label photo is
bot.label_photos), the guards they share (an expired dialogue, a wrong button, cancel), what each
state accepts (`states`), the keyboards that last as long as their step (`keyboards`) and typed
access to what an update carries (`updates`). It builds on bot.conversations (persistent,
re-enterable dialogues with /cancel everywhere)."""
