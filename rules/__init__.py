"""Rule packs (YAML): load, validate, match pages, explain hits."""
