"""The audit log: who did what to which thing, with before and after — every admin action
and every routing decision (`record`), and the admins' view of it."""
