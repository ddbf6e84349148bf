# Placeholder: install rules come with the C API (issue 6).
