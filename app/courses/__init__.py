"""Courses, lessons, question banks, enrolments, study sessions, the verified-minutes ledger,
quizzes and completion."""
