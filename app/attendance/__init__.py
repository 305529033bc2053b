"""Face verification: engine, challenges, liveness, enrolment, attendance events, review."""
