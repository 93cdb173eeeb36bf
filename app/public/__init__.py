"""Pages for residents, without login: the single-use link /r/<token> and the window QR /q/<unit code>."""
