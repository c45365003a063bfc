"""The records: employees, projects, attendance, work patterns, suggestions and accepted allocations."""
