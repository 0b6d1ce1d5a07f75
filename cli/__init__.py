"""`kubectl whisper`: the technicians' and company admins' command line."""
