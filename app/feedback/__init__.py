"""360-degree feedback: rating inbox and forms, nominations, tracking, results; admin pages for
instruments, the rater design and response tracking."""
