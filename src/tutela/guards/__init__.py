"""Built-in guards; each implements the protocols in tutela.guard."""
