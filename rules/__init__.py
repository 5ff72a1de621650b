"""The rules layer: SOP definition model, YAML loader and validator, compiler to
durable_rules, evaluator."""
