"""Working time: calendars and holidays, leave, contracts, expected hours and working-time compliance."""
