"""Read models several services keep of the same facts, from the same events.

One code, no shared tables: each module gives the tables (for a service's migration), the
SQL and the functions that apply the events, and every service that needs those facts
applies them to its own schema, under inbox handler names of its own, with hooks for what
it does on top.
"""

# The tables of each read model: what a service declares as its ``Service.read_model``
# (parents first).
COURSE_TABLES = ("courses", "course_lessons", "course_instructors")
ENROLLMENT_TABLES = ("enrollments",)
