"""REST API of the timesheet records: employees, projects, attendance, work patterns, suggestion review, allocations.

One module per subject and one APIView per operation. Where the contract puts several operations on one path
(`GET/POST /api/employees`), a route class combines them and each HTTP method keeps the permissions of the
operation that defines it. Reads are open to every user of the tenant and scoped by the selectors (HR/Admin see
everything, anyone else only their own employee record's data); writes need HR or Admin, except reviewing one's
own suggestions.
"""
