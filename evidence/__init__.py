"""Evidence capture: browser screenshots and rendered HTML, stored by SHA-256."""
